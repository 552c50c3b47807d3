"""What to run or write to get missing evidence, in the words of the user's own framework.

Contents:
    Need -- what a gate is missing (seeds, an evaluation return, distribution signals, ...).
    Hint -- a shell command and / or the lines to add to the training script.
    hint(framework, need, where) -- the hint for one framework (``sb3``, ``cleanrl``,
        ``trl``; anything else gets the ``rlvet train`` command).
    HINTS -- the table: framework -> need -> hint template.

Why: a report that tells a Stable-Baselines3 user to run ``rlvet train`` is advice for
someone else's project. A run trained by SB3 gets SB3 lines (``EvalCallback``,
``RlvetCallback``, ``model.save`` -- whose ``.zip`` records the settings the report groups
by); a CleanRL-style loop gets the TensorBoard tags to log (``eval/episodic_return``,
``charts/SPS``, ...) and its ``--seed`` flag; TRL gets ``RlvetTrlCallback`` and
``TrainingArguments``. Templates use ``{dir}`` (where the report was pointed) and ``{env}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["HINTS", "Hint", "Need", "hint"]


class Need(StrEnum):
    """What a gate is missing."""

    SEEDS = "seeds"  # more training seeds, with their settings recorded
    SETTINGS = "settings"  # the settings of runs that did not record them
    EVAL = "eval"  # an evaluation return beside the training reward
    MONITOR = "monitor"  # returns with lengths / entropy / KL, watched live
    FPS = "fps"  # throughput
    POLICY_LAG = "policy_lag"  # policy versions between data and learner
    NORMALISATION = "normalisation"  # saved normalisation statistics


@dataclass(frozen=True, slots=True)
class Hint:
    """A shell ``command`` to run and / or ``todo``: the lines to add to the script."""

    command: str = ""
    todo: str = ""


_SB3_LOGGED = ("model.set_logger(configure('{dir}/seed{{s}}', ['csv', 'tensorboard'])); "
               "model.learn(N, callback=[EvalCallback(eval_env, eval_freq=5000), "
               "RlvetCallback()]); model.save('{dir}/seed{{s}}/model')")
_SYNC = ("{name} collects and updates in turn, so the data is always from the current "
         "policy (lag 0; the epochs' reuse shows in KL and clip fraction): policy_lag "
         "matters only for asynchronous actors")

HINTS: Mapping[str, Mapping[Need, Hint]] = {
    "sb3": {
        Need.SEEDS: Hint(todo="in the SB3 script, for s in 0, 1, 2: env = make_vec_env('{env}', "
                              "seed=s, monitor_dir='{dir}/seed{{s}}'); model = PPO(..., env, "
                              "seed=s); " + _SB3_LOGGED),
        Need.SETTINGS: Hint(todo="save the model into each run directory (model.save('RUN/model') "
                                 "or CheckpointCallback(save_path='RUN')): SB3's .zip records "
                                 "the hyperparameters; make_vec_env(..., monitor_dir='RUN') "
                                 "records the env id"),
        Need.EVAL: Hint(todo="model.learn(N, callback=EvalCallback(eval_env, eval_freq=5000, "
                             "n_eval_episodes=10)) -- logs eval/mean_reward"),
        Need.MONITOR: Hint(todo="model.learn(N, callback=RlvetCallback('{dir}/rlvet.jsonl', "
                                "verbose=1)) -- from rlvet.integrations.sb3; SB3 already logs "
                                "rollout/ep_len_mean, train/entropy_loss, train/approx_kl"),
        Need.FPS: Hint(todo="keep SB3's logger writing csv or tensorboard (time/fps): "
                            "model.set_logger(configure('{dir}', ['csv', 'tensorboard']))"),
        Need.POLICY_LAG: Hint(todo=_SYNC.format(name="SB3")),
        Need.NORMALISATION: Hint(todo="wrap the env in VecNormalize and save its statistics "
                                      "beside the model: env.save('{dir}/vecnormalize.pkl') "
                                      "(or state that observations and rewards are raw)"),
    },
    "cleanrl": {
        Need.SEEDS: Hint(command="for s in 0 1 2; do python ppo.py --env-id {env} --seed $s; "
                                 "done"),
        Need.SETTINGS: Hint(todo="keep CleanRL's writer.add_text('hyperparameters', ...) at the "
                                 "start of the script: it records the arguments"),
        Need.EVAL: Hint(todo="writer.add_scalar('eval/episodic_return', mean_return, "
                             "global_step) after each evaluation of the current policy"),
        Need.MONITOR: Hint(todo="writer.add_scalar for charts/episodic_return, "
                                "charts/episodic_length, losses/entropy and losses/approx_kl"),
        Need.FPS: Hint(todo="writer.add_scalar('charts/SPS', int(global_step / "
                            "(time.time() - start_time)), global_step)"),
        Need.POLICY_LAG: Hint(todo=_SYNC.format(name="A CleanRL loop")),
        Need.NORMALISATION: Hint(todo="CleanRL's continuous-control scripts wrap "
                                      "gym.wrappers.NormalizeObservation / NormalizeReward: "
                                      "pickle the running statistics (obs_rms) beside the "
                                      "model as vecnormalize.pkl so deployment uses the same "
                                      "scale"),
    },
    "trl": {
        Need.SEEDS: Hint(todo="train with TrainingArguments(seed=s, output_dir='{dir}/seed{{s}}') "
                              "for s in 0, 1, 2 (trainer_state.json records each run)"),
        Need.SETTINGS: Hint(todo="keep output_dir per run: TRL's trainer_state.json and "
                                 "training_args.bin record the arguments"),
        Need.EVAL: Hint(todo="pass eval_dataset and eval_strategy='steps' (logs eval_reward)"),
        Need.MONITOR: Hint(todo="trainer.add_callback(RlvetTrlCallback('{dir}/rlvet.jsonl', "
                                "verbose=1)) -- from rlvet.integrations.trl"),
        Need.FPS: Hint(todo="keep logging_steps > 0: the Trainer logs train_samples_per_second"),
        Need.POLICY_LAG: Hint(todo="log policy_lag only with asynchronous generation "
                                   "(vLLM server mode): the version gap between sampler and "
                                   "learner"),
        Need.NORMALISATION: Hint(todo="state the reward scaling: GRPOConfig(scale_rewards=...) "
                                      "is recorded in the run's training arguments"),
    },
}
"""Framework -> need -> hint. Frameworks are ``RunSignals`` sources as the alias table
names them; ``hf_trainer`` and ``trl_ppo`` read as ``trl``."""
_SAME_AS = {"hf_trainer": "trl", "trl_ppo": "trl"}


def hint(framework: str | None, need: Need, *, where: str, env: str) -> Hint | None:
    """The hint for ``framework``, filled in; None where the table has none (then the caller
    suggests ``rlvet train``).

    Example:
        >>> hint("cleanrl", Need.SEEDS, where="runs", env="CartPole-v1").command
        'for s in 0 1 2; do python ppo.py --env-id CartPole-v1 --seed $s; done'
    """
    row = HINTS.get(_SAME_AS.get(framework or "", framework or ""))
    found = None if row is None else row.get(need)
    if found is None:
        return None
    return Hint(command=found.command.format(dir=where, env=env),
                todo=found.todo.format(dir=where, env=env))

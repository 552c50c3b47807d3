"""The ``rlvet`` command line: one thin typer command per capability.

Commands parse options, call the capability's Python API, and hand the ``CommandResult``
to ``report/``. Exit codes (ARCHITECTURE.md section 2): 0 no error finding, 1 at least one
error finding, 2 bad usage or unreadable input -- always one line on stderr, no traceback.
With ``--json`` stdout carries exactly one JSON document; progress goes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from rlvet import __version__
from rlvet.errors import RlvetInputError
from rlvet.findings import CommandResult
from rlvet.limits import (
    MAX_ACTORS,
    MAX_BUCKETS,
    MAX_ENVS_PER_ACTOR,
    MAX_EPISODES,
    MAX_PROBE_PROMPTS,
    MAX_SEED,
    MAX_TOTAL_STEPS,
)
from rlvet.paths import refuse_output_over_input

if TYPE_CHECKING:
    from rlvet.figures import LineFigure
    from rlvet.project import ProjectConfig

__all__ = ["app", "main"]

app = typer.Typer(
    name="rlvet",
    help="Vet RL pipelines: environment QA, training-log diagnosis, reward audits, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_err = Console(stderr=True)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"rlvet {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """rlvet: find which link of the RL training loop broke first."""


def _bad_input(message: str) -> int:
    """One line on stderr, exit 2: the contract for unusable input."""
    _err.print(f"rlvet: {message}", highlight=False, markup=False, soft_wrap=True)
    return 2


def emit(
    result: CommandResult,
    *,
    as_json: bool,
    html: Path | None,
    figures: Callable[[], Sequence[Any]] | None = None,
    console: Console | None = None,
    project: ProjectConfig | None = None,
    fail_on: str = "error",
) -> None:
    """Render a result to stdout (terminal or JSON) and optionally HTML, then exit.

    ``project``'s ``[ignore]`` moves findings to ``suppressed`` first (shown, not counted);
    the exit code is 1 when a finding at or above ``fail_on`` is left.
    """
    from rlvet.project import fail_exit_code
    from rlvet.report.html import render_html, write_html
    from rlvet.report.terminal import render_terminal

    if project is not None:
        result = _with_project(result, project)
    if html is not None:
        write_html(html, render_html(result, figures() if figures else ()))
    if as_json:
        sys.stdout.write(result.to_json() + "\n")
    else:
        render_terminal(result, console or Console())
        if html is not None:
            (console or Console()).print(f"HTML report: {html}")
    raise typer.Exit(fail_exit_code(result, fail_on))


def _with_project(result: CommandResult, project: ProjectConfig) -> CommandResult:
    """The project file's ignores applied, and where they (and thresholds) came from."""
    import dataclasses

    from rlvet.project import apply_ignore

    result = apply_ignore(result, project.ignore)
    if project.path is None:
        return result
    extra = {"project_file": str(project.path),
             **({"thresholds": dict(project.thresholds)} if project.thresholds else {})}
    return dataclasses.replace(result, metrics={**result.metrics, **extra})


def _project(config: Path | None, fail_on: str, *starts: Path | str | None) -> ProjectConfig:
    """``--config FILE`` or the nearest rlvet.toml above the input / the current directory;
    ``--fail-on`` checked before any work is done."""
    from rlvet.project import FAIL_ON, resolve_project

    if fail_on not in FAIL_ON:
        raise RlvetInputError(f"--fail-on {fail_on!r}: expected one of {', '.join(FAIL_ON)}")
    return resolve_project(config, starts)


ConfigOption = Annotated[Path | None, typer.Option("--config", help="Project file (rlvet.toml: [aliases], [ignore], [thresholds], [train]); default: the nearest rlvet.toml at or above the input, else the current directory (docs/project.md).")]
FailOnOption = Annotated[str, typer.Option("--fail-on", help="Exit 1 on a finding of this severity or worse: error (default) or warning (for CI).")]


def _parse_json_object(text: str | None, option: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RlvetInputError(
            f"{option}: not valid JSON ({exc.msg} at column {exc.colno})"
        ) from exc
    if not isinstance(value, dict):
        raise RlvetInputError(f"{option}: expected a JSON object, got {type(value).__name__}")
    return value


def _parse_aliases(rows: Sequence[str]) -> dict[str, str]:
    """``--alias RAW=CANONICAL`` rows, checked (the raw name may itself hold ``=``)."""
    from rlvet.signals.aliases import user_aliases

    out: dict[str, str] = {}
    for row in rows:
        raw, sep, canonical = row.rpartition("=")
        if not sep or not raw:
            raise RlvetInputError(f"--alias {row!r}: expected RAW=CANONICAL, e.g. my/ret=reward")
        out[raw] = canonical
    try:
        user_aliases(out)
    except ValueError as exc:
        raise RlvetInputError(f"--alias: {exc}") from None
    return out


def _spec_files(*specs: str | None) -> list[Path]:
    """The files named by ``file.py:callable`` / ``A2C:model.zip`` specs (inputs an output must not replace)."""
    return [Path(part) for spec in specs for part in (spec or "").split(":")
            if Path(part).suffix in {".py", ".pt", ".zip", ".ckpt"}]


@app.command("env")
def env_command(
    spec: Annotated[
        str, typer.Argument(help="Gymnasium id (CartPole-v1) or module:factory / file.py:factory.")
    ],
    expert: Annotated[
        str | None,
        typer.Option(
            help="Expert policy obs -> action: module:callable or file.py:callable. Built-in for classic-control and toy-text ids."
        ),
    ] = None,
    episodes: Annotated[
        int, typer.Option(min=2, max=MAX_EPISODES, help="Episodes per probe (random and expert).")
    ] = 20,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Base seed; every probe derives its seeds from it.")
    ] = 0,
    step_timeout: Annotated[
        float, typer.Option(min=0.01, help="Wall-clock budget per env step, seconds.")
    ] = 2.0,
    env_kwargs: Annotated[
        str | None, typer.Option(help="JSON object of keyword arguments for the env.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document to stdout.")
    ] = False,
    html: Annotated[
        Path | None, typer.Option(help="Write a self-contained HTML report here.")
    ] = None,
    config: ConfigOption = None,
    fail_on: FailOnOption = "error",
) -> None:
    """Environment QA: determinism, leakage, stale observations, timeouts, reward and done semantics."""
    from rlvet.envcheck.report import env_figures
    from rlvet.envcheck.suite import EnvQAConfig, run_env_qa

    project = _project(config, fail_on, *_spec_files(spec))
    refuse_output_over_input(html, _spec_files(spec, expert), option="--html")
    qa = EnvQAConfig(
        spec=spec,
        expert=expert,
        episodes=episodes,
        seed=seed,
        step_timeout=step_timeout,
        env_kwargs=_parse_json_object(env_kwargs, "--env-kwargs"),
    )
    outcome = run_env_qa(qa, progress=not as_json)
    emit(outcome.result, as_json=as_json, html=html, figures=lambda: env_figures(outcome),
         project=project, fail_on=fail_on)


@app.command("doctor")
def doctor_command(
    paths: Annotated[list[Path], typer.Argument(help="Run directories or log files (rlvet JSONL, TensorBoard, SB3 progress.csv, trainer_state.json).")],
    reward_metric: Annotated[str | None, typer.Option(help="Logged name of the training reward (the proxy); default: reward.")] = None,
    eval_metric: Annotated[str | None, typer.Option(help="Logged name of the true/held-out metric; default: eval_return, else an eval/*, evaluation/*, test/* or eval_* return.")] = None,
    alias: Annotated[list[str] | None, typer.Option("--alias", help="RAW=CANONICAL: read a metric rlvet does not know (repeatable; -CANONICAL negates), e.g. --alias my/ret=reward.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    config: ConfigOption = None,
    fail_on: FailOnOption = "error",
) -> None:
    """Name the first broken link of each training run from the logs it already writes."""
    from rlvet.doctor.command import doctor_figures, run_doctor
    from rlvet.paths import refuse_output_over_input
    from rlvet.project import thresholds_applied
    from rlvet.signals.discover import find_logs

    project = _project(config, fail_on, *paths)
    logs = [log.path for p in paths for log in (find_logs(p) if p.is_dir() else ())]
    refuse_output_over_input(html, [*paths, *logs], option="--html")
    aliases = {**project.aliases, **_parse_aliases(alias or [])}  # the command line wins
    with thresholds_applied(project.thresholds):
        outcome = run_doctor(paths, reward_metric=reward_metric, eval_metric=eval_metric,
                             aliases=aliases)
    emit(outcome.result, as_json=as_json, html=html, figures=lambda: doctor_figures(outcome),
         project=project, fail_on=fail_on)


@app.command("watch")
def watch_command(
    paths: Annotated[list[Path], typer.Argument(help="Run directories (new log files picked up as they appear) or log files of a running job: any format `rlvet doctor` reads.")],
    poll: Annotated[float, typer.Option(min=0.01, help="Seconds between polls; keep it below the job's logging interval.")] = 1.0,
    idle: Annotated[float, typer.Option(min=0.01, help="End when no followed file changed for this many seconds.")] = 300.0,
    stop_file: Annotated[Path | None, typer.Option(help="On a confirmed error, write the finding here as JSON (for a job that polls for it).")] = None,
    pid: Annotated[int | None, typer.Option(min=1, help="On a confirmed error, send --signal to this process.")] = None,
    signal_name: Annotated[str, typer.Option("--signal", help="SIGINT (a Python job can save and exit) or SIGTERM.")] = "SIGTERM",
    webhook: Annotated[str | None, typer.Option(help="On a confirmed error, POST the finding as JSON to this URL.")] = None,
    reward_metric: Annotated[str | None, typer.Option(help="Logged name of the training reward (the proxy).")] = None,
    eval_metric: Annotated[str | None, typer.Option(help="Logged name of the true/held-out metric.")] = None,
    alias: Annotated[list[str] | None, typer.Option("--alias", help="RAW=CANONICAL: read a metric rlvet does not know (repeatable; -CANONICAL negates), e.g. --alias my/ret=reward.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final verdict as one JSON document to stdout (events go to stderr).")] = False,
    config: ConfigOption = None,
) -> None:
    """Follow a running job's logs, apply the live guardrails, and act on a confirmed error."""
    from rlvet.project import thresholds_applied
    from rlvet.report.watch_terminal import WatchView
    from rlvet.watch import WatchConfig, watch

    refuse_output_over_input(stop_file, paths, option="--stop-file")
    project = _project(config, "error", *paths)
    aliases = {**project.aliases, **_parse_aliases(alias or [])}  # the command line wins
    settings = WatchConfig(paths=tuple(paths), poll_s=poll, idle_s=idle, stop_file=stop_file,
                           pid=pid, signal=signal_name, webhook=webhook,
                           reward_metric=reward_metric, eval_metric=eval_metric,
                           aliases=aliases)
    with thresholds_applied(project.thresholds), \
            WatchView(_err if as_json else Console()) as view:
        outcome = watch(settings, view)
    emit(outcome.result, as_json=as_json, html=None, project=project)


@app.command("train")
def train_command(
    ctx: typer.Context,
    env_id: Annotated[str | None, typer.Argument(help="Gymnasium id (Box observations; Discrete or Box actions), e.g. CartPole-v1; may come from env_id in rlvet.toml's [train].")] = None,
    total_steps: Annotated[int, typer.Option(min=1, max=MAX_TOTAL_STEPS, help="Environment steps to train for (all actors together).")] = 100_000,
    actors: Annotated[int, typer.Option(min=1, max=MAX_ACTORS, help="Actor processes, each stepping its own vector env.")] = 2,
    envs_per_actor: Annotated[int, typer.Option(min=1, max=MAX_ENVS_PER_ACTOR, help="Envs per actor, batched through one policy forward pass.")] = 4,
    max_lag: Annotated[int, typer.Option(min=0, help="Oldest data trained on, in policy versions (one per update).")] = 2,
    lag_mode: Annotated[str, typer.Option(help="Rollouts older than --max-lag: drop, or correct (V-trace).")] = "drop",
    on_break: Annotated[str, typer.Option(help="On an error first break from the live doctor: warn, stop, or rollback.")] = "warn",
    chaos: Annotated[str, typer.Option(help="Fault injection per rollout for testing, e.g. crash=0.05,kill=0.01,hang=0.02.")] = "",
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from checkpoints/last.pt.")] = False,
    out: Annotated[Path, typer.Option(help="Run directory: metrics.jsonl, checkpoints/, tb/.")] = Path("runs/train"),
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Base seed (networks, actors, evaluation).")] = 0,
    lr: Annotated[float, typer.Option(help="Adam learning rate (annealed linearly to 0).")] = 2.5e-4,
    eval_every: Annotated[int, typer.Option(min=0, help="Steps between evaluations on the nominal env (0: start and end only).")] = 10_000,
    real_env_kwargs: Annotated[str | None, typer.Option(help="JSON object: a shifted-dynamics 'real' variant to evaluate, e.g. '{\"length\": 0.8}'.")] = None,
    randomize: Annotated[str | None, typer.Option(help="JSON object of parameter ranges to randomise, e.g. '{\"length\": [0.25, 1.0]}'.")] = None,
    buckets: Annotated[int, typer.Option(min=1, max=MAX_BUCKETS, help="Buckets the --randomize ranges are split into.")] = 2,
    backend: Annotated[str, typer.Option(help="local (actor processes), sync (one in-process actor, bit-reproducible), or ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address for --backend ray (default: start Ray locally).")] = None,
    tensorboard: Annotated[bool, typer.Option("--tensorboard", help="Also write TensorBoard scalars to OUT/tb.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Project file whose [train] table holds these arguments (any TrainArgs field, e.g. gamma); options given here win. Default: the nearest rlvet.toml at or above the current directory.")] = None,
) -> None:
    """Train PPO with lag-aware actors, fault isolation and live guardrails; report what broke."""
    from rlvet.pipeline.args import args_from_mapping
    from rlvet.pipeline.command import run_train

    project = _project(config, "error")
    ranges = {k: tuple(v) if isinstance(v, list) else v
              for k, v in _parse_json_object(randomize, "--randomize").items()}
    given = dict(
        env_id=env_id, total_steps=total_steps, actors=actors, envs_per_actor=envs_per_actor,
        max_lag=max_lag, lag_mode=lag_mode, on_break=on_break, chaos=chaos, resume=resume,
        out=out, seed=seed, lr=lr, eval_every=eval_every,
        real_env_kwargs=_parse_json_object(real_env_kwargs, "--real-env-kwargs"),
        randomize=ranges, buckets=buckets, backend=backend, ray_address=ray_address,
        tensorboard=tensorboard,
    )
    # an option left at its default gives way to the project file's [train] value
    defaulted = {k for k in given if getattr(ctx.get_parameter_source(k), "name", "") == "DEFAULT"}
    overrides = {k: v for k, v in given.items() if k not in defaulted or k not in project.train}
    if overrides.get("env_id") is None:
        overrides.pop("env_id", None)
        if "env_id" not in project.train:
            raise RlvetInputError("ENV_ID: missing (give it, or env_id in the [train] table of "
                                  "rlvet.toml)")
    args = args_from_mapping(project.train, **overrides)
    out = args.out
    refuse_output_over_input(html, (out, out / "metrics.jsonl", out / "checkpoints" / "last.pt"),
                             option="--html")
    result = run_train(args, progress=not as_json)

    def figures() -> list[LineFigure]:
        from rlvet.doctor.command import doctor_figures, run_doctor

        return doctor_figures(run_doctor([out]))

    emit(result, as_json=as_json, html=html, figures=figures)


@app.command("reward")
def reward_command(
    samples: Annotated[Path, typer.Argument(help="Samples JSONL: one scored sample or trajectory per line (id, step, reward; optional prompt, response, group, components, eval_score, human_score, tool_calls, claimed_success, final_state_ok, baseline_response).")],
    baseline: Annotated[Path | None, typer.Option(help="A baseline run's samples JSONL (e.g. the SFT model's) to compare length, repetition, format and tool use with.")] = None,
    spot_check: Annotated[Path | None, typer.Option(help="Write the latest step's highest-reward, lowest-reward and random samples here (JSONL) for review.")] = None,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed of the random spot-check picks; same seed, same picks.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    config: ConfigOption = None,
    fail_on: FailOnOption = "error",
) -> None:
    """Audit a reward from scored samples: shape, hacking (length, repetition, format, tools, pseudo-success), judge agreement, GRPO groups."""
    from rlvet.reward.command import reward_figures, run_reward

    project = _project(config, fail_on, samples)
    for option, output in (("--html", html), ("--spot-check", spot_check)):
        refuse_output_over_input(output, (samples, baseline), option=option)
    refuse_output_over_input(spot_check, (html,), option="--spot-check")
    outcome = run_reward(samples, baseline=baseline, spot_check=spot_check, seed=seed)
    emit(outcome.result, as_json=as_json, html=html, figures=lambda: reward_figures(outcome),
         project=project, fail_on=fail_on)


@app.command("reward-probe")
def reward_probe_command(
    reward_spec: Annotated[str, typer.Argument(help="The reward function: module:callable or file.py:callable, TRL's f(prompts, completions, **kwargs) -> list[float] or a plain f(prompt, response) -> float.")],
    prompts: Annotated[Path, typer.Option(help="Prompts JSONL: one object per line with a 'prompt', a string or TRL's conversational list of {'role', 'content'} messages; every other field reaches a TRL-style reward as a keyword list.")],
    references: Annotated[str | None, typer.Option(help="Field holding each prompt's reference answer: its reward is the level the attacks are measured against (default: the best no-knowledge score).")] = None,
    share: Annotated[float, typer.Option(min=0.01, max=1.0, help="A strategy whose mean reward reaches this share of the reference level is an error.")] = 0.5,
    max_prompts: Annotated[int, typer.Option(min=1, max=MAX_PROBE_PROMPTS, help="Probe the first this many prompts.")] = 100,
    timeout: Annotated[float, typer.Option(min=0.01, max=3600.0, help="Wall-clock budget of one reward call, seconds; a call past it is a grader_failure finding.")] = 30.0,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed of the strategies' random text; same seed, same responses.")] = 0,
    env: Annotated[str | None, typer.Option("--env", help="Agentic tasks: module:factory or file.py:factory returning an object with reset(prompt=, **fields), step(tool_call=) and succeeded(state=); every response is replayed in it, and a reward paid while succeeded is False is pseudo-success. A TRL-style reward gets environments=[env].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    config: ConfigOption = None,
    fail_on: FailOnOption = "error",
) -> None:
    """Attack a reward before training: empty, format-only, echoed, listed, padded, repeated, claimed and refused responses; is any of them paid like a correct answer?"""
    from rlvet.reward.probe import ProbeConfig, run_probe

    project = _project(config, fail_on, prompts, *_spec_files(reward_spec, env))
    refuse_output_over_input(html, (prompts, *_spec_files(reward_spec, env)), option="--html")
    probe = ProbeConfig(reward=reward_spec, prompts=prompts, references=references, share=share,
                        seed=seed, timeout_s=timeout, max_prompts=max_prompts, env=env)
    emit(run_probe(probe).result, as_json=as_json, html=html, project=project, fail_on=fail_on)


@app.command("eval")
def eval_command(
    protocol: Annotated[Path, typer.Argument(help="Protocol TOML: env id or factory, kwargs, attributes, max steps, seeds and splits, episodes per seed, deterministic or sampled, policy.")],
    policy: Annotated[str | None, typer.Option(help="Policy SPEC overriding the protocol's [policy]: run.pt (rlvet checkpoint), model.zip or A2C:model.zip (SB3), module:callable.")] = None,
    compare: Annotated[Path | None, typer.Option(help="An earlier eval_result.json: probability of improvement under the same protocol, an eval_protocol_change finding otherwise.")] = None,
    sweep: Annotated[Path | None, typer.Option(help="Sweep TOML: dynamics attributes / make kwargs, observation and action noise, action delay, edge cases, real observations.")] = None,
    split: Annotated[str | None, typer.Option(help="Split to evaluate: smoke, dev (default), public or private (every use is logged).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write eval_result.json (for --compare) and retrain_trigger.json here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    config: ConfigOption = None,
    fail_on: FailOnOption = "error",
) -> None:
    """Evaluate a policy under a frozen, hashed protocol: multi-seed CIs, robustness sweeps, sim-to-real shift, latency."""
    from rlvet.evaluate.command import RESULT_NAME, TRIGGER_NAME, eval_figures, run_eval
    from rlvet.report.eval_terminal import print_summary

    project = _project(config, fail_on, protocol)
    inputs = (protocol, compare, sweep, *_spec_files(policy))
    refuse_output_over_input(html, inputs, option="--html")
    for name in (RESULT_NAME, TRIGGER_NAME):  # what --out DIR holds
        refuse_output_over_input(out / name if out else None, (*inputs, html), option="--out")
    outcome = run_eval(protocol, policy=policy, compare=compare, sweep=sweep, split=split,
                       out=out, progress=not as_json)
    if not as_json:
        print_summary(outcome, Console())
    emit(outcome.result, as_json=as_json, html=html, figures=lambda: eval_figures(outcome),
         project=project, fail_on=fail_on)


@app.command("report")
def report_command(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories (searched recursively) or result files: rlvet --json results, training logs, checkpoints, environment.json, deployment.toml.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
    html: Annotated[Path | None, typer.Option(help="Write the self-contained stage-gate report (HTML) here.")] = None,
    config: ConfigOption = None,
    fail_on: FailOnOption = "error",
) -> None:
    """Stage-gate report: answer every gate question from what run directories hold; go / no-go."""
    from rlvet.project import fail_exit_code, thresholds_applied
    from rlvet.report.stagegate import emit_report, run_report

    project = _project(config, fail_on, *run_dirs)
    with thresholds_applied(project.thresholds):
        outcome = run_report(run_dirs, ignore=project.ignore)
    emit_report(outcome, as_json=as_json, html=html)
    raise typer.Exit(fail_exit_code(outcome.result, fail_on))


resources_app = typer.Typer(no_args_is_help=True, help="Memory plan before training (resource signals during it come from Monitor and rlvet train).")
app.add_typer(resources_app, name="resources")


@resources_app.command("plan")
def resources_plan_command(
    config: Annotated[Path, typer.Argument(help="TOML: [[models]] (role, shape or params, dtype, trainable, lora_rank), [training], [generation], [hardware]; see docs/resources.md.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
) -> None:
    """Per-GPU memory by source (weights, optimizer, gradients, activations, logits, KV cache, rollouts), the verdict against the GPU, and the cheapest changes that make it fit."""
    from rlvet.report.plan_terminal import render_plan
    from rlvet.resources.command import run_plan

    outcome = run_plan(config)
    if as_json:
        sys.stdout.write(outcome.result.to_json() + "\n")
    else:
        render_plan(outcome, Console())
    raise typer.Exit(outcome.result.exit_code)


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Directory for the demo's outputs.")] = Path(
        "rlvet-demo"
    ),
) -> None:
    """The main job end to end: env QA, training with guardrails, a broken run rolled back, evaluation with CIs, the stage-gate report."""
    from rlvet.demo import run_demo

    raise typer.Exit(run_demo(out, Console()))


_CLICK_BOUNDS = (("Input should be greater than or equal to ", "must be >= "),
                 ("Input should be less than or equal to ", "must be <= "),
                 ("Input should be greater than ", "must be > "),
                 ("Input should be less than ", "must be < "))


def _usage_line(exc: Exception) -> str:
    """A click usage error as one line: ``--actors: must be >= 1`` (the option, the rule).

    Click prints three lines (usage, a hint, the error); ARCHITECTURE.md section 2 promises
    one. The option's own name leads, as in every other rlvet message.
    """
    message = str(getattr(exc, "message", "") or exc)
    for theirs, ours in _CLICK_BOUNDS:
        message = message.replace(theirs, ours)
    param = getattr(exc, "param", None)
    if param is None:
        return message.rstrip(".")
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("-")]
    name = max(opts, key=len) if opts else str(getattr(param, "name", "") or "").upper()
    if type(exc).__name__ == "MissingParameter":
        message = "missing (see --help)"
    return f"{name}: {message}" if name else message


EXIT_CODES = ("Exit codes: 0 no error finding (none at or above --fail-on where the command "
              "has it), 1 at least one, 2 bad usage or unreadable input (one line on stderr).")


def _plain_help(command: Any) -> Any:
    """Make the click tree's help say what its text says, for every command at once.

    Typer renders help with rich markup, which swallows bracketed text (``[[models]]``,
    ``[policy]``, TOML section names are everywhere in rlvet's help); flags would show a
    ``<bool>`` type they take no value of; and no command listed its exit codes. So: help
    text escaped, flags without a type, arguments named in capitals, the exit codes as
    every command's epilog.
    """
    from rich.markup import escape

    for param in getattr(command, "params", ()):
        if getattr(param, "help", None):
            param.help = escape(param.help)
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif param.param_type_name == "argument" and param.metavar is None and param.name:
            param.metavar = param.name.upper() + ("..." if param.nargs != 1 else "")
    if getattr(command, "help", None):
        command.help = escape(command.help)
    with contextlib.suppress(Exception):  # typer caches its --help option: no <bool> there
        command.get_help_option(command.context_class(command)).metavar = ""
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for sub in subcommands.values():
            _plain_help(sub)
    elif not getattr(command, "epilog", None):
        command.epilog = EXIT_CODES
    return command


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code instead of exiting when called in-process."""
    try:
        # numpy's RuntimeWarnings (overflow in a variance of 1e300s, ...) describe values the
        # result already carries as inf/nan; on stderr they only bury the one-line contract
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # standalone_mode=False: click returns the exit code instead of calling sys.exit
            command = _plain_help(typer.main.get_command(app))
            code = command(args=list(argv) if argv is not None else None, standalone_mode=False,
                           prog_name="rlvet")
    except typer.Exit as exc:
        return int(exc.exit_code)
    except RlvetInputError as exc:  # every command's unusable input: one line, exit 2
        return _bad_input(str(exc))
    except SystemExit as exc:  # pragma: no cover - click may still raise it
        return int(exc.code or 0)
    except (RecursionError, MemoryError) as exc:  # a last net: readers bound what they parse
        return _bad_input(f"input too large or too deeply nested to process "
                          f"({type(exc).__name__})")
    except Exception as exc:  # usage errors (bad option, missing argument) from click
        # typer >= 0.29 vendors click as typer._click: recognise its errors by shape
        if type(exc).__name__ == "Abort":
            return 130
        if callable(getattr(exc, "show", None)) and hasattr(exc, "exit_code"):
            return _bad_input(_usage_line(exc))
        raise
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

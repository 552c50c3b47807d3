"""``rlvet train ENV_ID``: the Python API behind the CLI command.

Contents:
    run_train(args, progress) -- train, then shape the run into a ``CommandResult``.

The result's findings are the trainer's (guardrail events and the live doctor's final
diagnosis, then infrastructure, domain-randomisation and sim-to-real findings); its
metrics are the run's figures (steps, fps, lag, dropped rollouts, restarts, evaluations).
``rlvet doctor <out>`` afterwards reads the same ``metrics.jsonl`` and reaches the same
training-dynamics conclusions.
"""

from __future__ import annotations

from rlvet.findings import CommandResult
from rlvet.pipeline.args import TrainArgs

__all__ = ["run_train"]


def run_train(args: TrainArgs, progress: bool) -> CommandResult:
    """Run ``rlvet train`` and return its result.

    Args:
        args: the run's arguments.
        progress: draw the progress display on stderr (off for ``--json``).

    Raises:
        RlvetInputError: bad arguments, an unknown env, a missing checkpoint on resume,
            ``--backend ray`` without Ray installed.

    Example:
        >>> args = TrainArgs(total_steps=20_000, out=Path("runs/cp"))  # doctest: +SKIP
        >>> run_train(args, progress=False).verdict  # doctest: +SKIP
        'pass'
    """
    from rlvet.pipeline.train import train  # torch is imported only when training

    return train(args, progress=progress).command_result(target=args.env_id)

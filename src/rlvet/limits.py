"""Stated maxima for every size and budget a person can pass to rlvet.

Contents:
    MAX_SEED, MAX_EPISODES, MAX_TOTAL_STEPS, MAX_ACTORS, MAX_ENVS_PER_ACTOR, MAX_BUCKETS,
    MAX_EPISODES_PER_SEED, MAX_EPISODE_STEPS, MAX_BOOTSTRAP_REPS, MAX_LATENCY_CALLS,
    MAX_ACTION_DELAY, MAX_METRIC_KEYS, MAX_PROBE_PROMPTS, MAX_GPU_MEMORY_GIB -- the bounds,
        each with the reason it sits where it does.
    check_range(option, value, *, low, high) -- one bound check, one message format.

Why: a typo such as ``--episodes 1e20`` or ``episodes_per_seed = 10000000000`` used to be
accepted and then exhaust memory after minutes (numpy allocating per-episode arrays,
Python lists of 10^9 buckets). Every size is refused up front instead (exit 2, one line
naming the option, the value and the bound). The bounds are far above any real use and far
below what a laptop cannot hold; raising one is a one-line change here.
"""

from __future__ import annotations

import math

from rlvet.errors import RlvetInputError

__all__ = [
    "MAX_ACTION_DELAY",
    "MAX_ACTORS",
    "MAX_BOOTSTRAP_REPS",
    "MAX_BUCKETS",
    "MAX_ENVS_PER_ACTOR",
    "MAX_EPISODES",
    "MAX_EPISODES_PER_SEED",
    "MAX_EPISODE_STEPS",
    "MAX_GPU_MEMORY_GIB",
    "MAX_LATENCY_CALLS",
    "MAX_METRIC_KEYS",
    "MAX_PROBE_PROMPTS",
    "MAX_SEED",
    "MAX_TOTAL_STEPS",
    "check_range",
]

MAX_SEED = 2**32 - 1
"""numpy's legacy ``RandomState`` and many simulators take 32-bit seeds; 0 is the floor
(``SeedSequence`` and Gymnasium refuse negative seeds)."""
MAX_EPISODES = 100_000
"""Episodes per env-QA probe: the probes keep per-episode records in memory."""
MAX_TOTAL_STEPS = 10**12
"""Environment steps of one ``rlvet train`` run (Atari's 200M frames x 5000)."""
MAX_ACTORS = 1024
"""Actor processes (or Ray actors) of one ``rlvet train`` run."""
MAX_ENVS_PER_ACTOR = 4096
"""Envs batched in one actor: Isaac-style GPU sims run a few thousand per device; the
rollout buffer is ``rollout_steps x envs_per_actor`` rows allocated up front."""
MAX_BUCKETS = 10_000
"""Domain-randomisation buckets: each holds per-bucket statistics and its own evaluation."""
MAX_EPISODES_PER_SEED = 100_000
"""Evaluation episodes per seed; scores are held per episode."""
MAX_EPISODE_STEPS = 100_000_000
"""An evaluation protocol's episode cap: one episode's rewards are held in memory."""
MAX_BOOTSTRAP_REPS = 1_000_000
"""Bootstrap resamples for a CI: rliable uses 2,000-50,000; each holds one score per run."""
MAX_LATENCY_CALLS = 1_000_000
"""Timed policy calls of the latency probe; each timing is kept."""
MAX_ACTION_DELAY = 10_000
"""Steps of actuation delay in a robustness sweep: a queue of that many actions per env."""
MAX_METRIC_KEYS = 20_000
"""Distinct metric names in one log file: real runs log tens to a few thousand (per-layer
gradient norms of a large model); every name becomes a series each detector summarises."""
MAX_PROBE_PROMPTS = 100_000
"""Prompts one ``rlvet reward-probe`` scores: each costs about fifteen reward calls."""
MAX_GPU_MEMORY_GIB = 1_000_000
"""GiB of one GPU: a million, far above any accelerator, and finite for the plan."""


def check_range(option: str, value: float, *, low: float, high: float) -> None:
    """Raise ``RlvetInputError`` unless ``low <= value <= high`` (NaN and inf refused too).

    Example:
        >>> check_range("--buckets", 3, low=1, high=MAX_BUCKETS)
    """
    if not (isinstance(value, int) or math.isfinite(value)):
        raise RlvetInputError(f"{option}: must be a finite number, got {value}")
    if not low <= value <= high:
        raise RlvetInputError(f"{option}: must be between {low:,} and {high:,}, got {value:,}")

"""The acting copy of the networks: float32 numpy, no torch.

Contents:
    NumpyPolicy -- built from the broadcast weight vector; ``act`` (actors: sample, log-prob,
        value) and ``greedy`` (evaluation).
    param_shapes(n_obs, action, hidden) -- the shapes, in order, of ``Agent.parameters()``:
        the layout of the broadcast vector.

Why not torch: an actor runs the networks on a handful of observations per vector step
(4 envs x 4 inputs for CartPole). At that size torch's per-call dispatch -- module hooks, a
``Categorical`` that validates its arguments, ``multinomial`` -- cost about 0.5 ms per step
(measured: 60% of an actor's time, more than the env), and the actors, not the env, limited
throughput. The same float32 arithmetic in numpy costs a few microseconds per layer. And an
actor that never imports torch starts in a fraction of the time (torch's import is ~1 s).

The learner keeps torch (it needs gradients) and recomputes every log-prob it trains on with
its own weights, so the two implementations need only agree to float32 rounding: behaviour
log-probs enter PPO's ratio only, where 1e-7 is nothing (tested against ``Agent``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np

if TYPE_CHECKING:
    from rlvet.pipeline.spaces import ActionSpec

__all__ = ["NumpyPolicy", "param_shapes"]

LOG_SQRT_2PI = 0.5 * float(np.log(2 * np.pi))  # the Normal log-density's constant


def _mlp_shapes(n_in: int, hidden: int, n_out: int) -> list[tuple[int, ...]]:
    return [(hidden, n_in), (hidden,), (hidden, hidden), (hidden,), (n_out, hidden), (n_out,)]


def param_shapes(n_obs: int, action: ActionSpec, hidden: int) -> list[tuple[int, ...]]:
    """Shapes of ``Agent(n_obs, action, hidden).parameters()``, in order: the log-std of a
    continuous head (a module's own parameters come before its submodules'), then the
    critic's three layers (weight, bias), then the actor's."""
    shapes = _mlp_shapes(n_obs, hidden, 1) + _mlp_shapes(n_obs, hidden, action.size)
    return shapes if action.discrete else [(1, action.size), *shapes]


class NumpyPolicy:
    """The policy and value networks as float32 arrays.

    Args:
        critic, actor: (weight transposed (n_in, n_out), bias (n_out,)) per layer.
        action: the action interface.
        log_std: (size,) for a Gaussian head; None for a categorical one.

    Example:
        >>> from rlvet.pipeline.spaces import ActionSpec
        >>> spec = ActionSpec(discrete=True, size=2)
        >>> n = sum(int(np.prod(s)) for s in param_shapes(4, spec, 64))
        >>> policy = NumpyPolicy.from_flat(np.zeros(n, np.float32), n_obs=4, action=spec,
        ...                                hidden=64)
        >>> actions, logp, values = policy.act(np.zeros((3, 4), np.float32),
        ...                                    np.random.default_rng(0))
        >>> actions.shape, [round(float(x), 3) for x in logp], values.tolist()
        ((3,), [-0.693, -0.693, -0.693], [0.0, 0.0, 0.0])
    """

    def __init__(self, critic: list[tuple[np.ndarray, np.ndarray]],
                 actor: list[tuple[np.ndarray, np.ndarray]], action: ActionSpec,
                 log_std: np.ndarray | None) -> None:
        self.critic, self.actor, self.action, self.log_std = critic, actor, action, log_std

    @classmethod
    def from_flat(cls, flat: np.ndarray, *, n_obs: int, action: ActionSpec,
                  hidden: int) -> NumpyPolicy:
        """Unpack a parameter vector (``agent.flat_weights``, the broadcast form).

        Raises:
            ValueError: ``flat`` is not the size the layout needs.
        """
        shapes = param_shapes(n_obs, action, hidden)
        sizes = [int(np.prod(s)) for s in shapes]
        if flat.size != sum(sizes):
            raise ValueError(f"weight vector of {flat.size} values; an agent with {n_obs} "
                             f"inputs, {hidden} hidden units and {action.size} actions has "
                             f"{sum(sizes)}")
        parts = np.split(np.asarray(flat, dtype=np.float32), np.cumsum(sizes)[:-1])
        arrays = [p.reshape(s) for p, s in zip(parts, shapes, strict=True)]
        log_std = None if action.discrete else arrays.pop(0).reshape(-1)

        def layers(at: int) -> list[tuple[np.ndarray, np.ndarray]]:
            return [(np.ascontiguousarray(arrays[at + 2 * i].T), arrays[at + 2 * i + 1])
                    for i in range(3)]

        return cls(layers(0), layers(6), action, log_std)

    @staticmethod
    def _forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
        for i, (w_t, b) in enumerate(layers):
            x = x @ w_t + b
            if i < len(layers) - 1:
                x = np.tanh(x)
        return x

    def value(self, obs: np.ndarray) -> np.ndarray:
        """V(s) of float32 observations (n, n_obs), shape (n,)."""
        return self._forward(self.critic, obs)[:, 0]

    def act(self, obs: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample actions, as ``Agent.act`` does, with a numpy generator.

        Args:
            obs: (n, n_obs) float32, normalised.
            rng: the actor's own generator (reproducible, checkpointable).

        Returns:
            actions (n,) int64 or (n, size) float32 (unclipped), their log-probs (n,)
            float32, values (n,) float32.
        """
        out = self._forward(self.actor, obs)
        if self.log_std is None:
            logp_all = out - _logsumexp(out)
            cdf = np.cumsum(np.exp(logp_all.astype(np.float64)), axis=1)
            u = rng.random(int(out.shape[0]))
            actions = np.minimum((cdf <= u[:, None]).sum(axis=1), out.shape[1] - 1)
            logp = logp_all[np.arange(out.shape[0]), actions]
            return (actions.astype(np.int64), logp.astype(np.float32),
                    self.value(obs).astype(np.float32))
        noise = rng.standard_normal(out.shape, dtype=np.float32)
        actions = out + np.exp(self.log_std) * noise
        logp = (-0.5 * noise**2 - self.log_std - LOG_SQRT_2PI).sum(axis=1)
        return actions, logp.astype(np.float32), self.value(obs).astype(np.float32)

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """The most likely action (argmax / mean) of float32 observations (n, n_obs)."""
        out = self._forward(self.actor, obs)
        return out.argmax(axis=1) if self.log_std is None else out


def _logsumexp(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1, keepdims=True)
    return cast(np.ndarray, top + np.log(np.exp(x - top).sum(axis=1, keepdims=True)))

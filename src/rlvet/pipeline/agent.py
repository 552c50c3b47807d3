"""The actor-critic networks: separate tanh MLPs, orthogonal init, discrete or Gaussian head.

Contents:
    ActionSpec -- what the policy head must produce, read from a Gymnasium action space.
    Agent -- ``act`` (sampling with an explicit torch.Generator), ``greedy``, ``evaluate``
        (log-probs, entropy, values for the PPO loss), ``value``: the learner's networks.
    NumpyPolicy -- a float32 numpy copy of an Agent's weights that acts (actors) and acts
        greedily (evaluation) without torch.
    obs_dim(space) -- flat observation size of a Box space.
    flat_weights(agent), load_flat_weights(agent, flat) -- one float32 vector, the form the
        learner broadcasts to actors.

Details that matter (Engstrom et al. 2020; Andrychowicz et al. 2021; CleanRL ``ppo.py``):
orthogonal weights with gain sqrt(2) in hidden layers, 0.01 for the policy output (the
initial policy is near-uniform / near-zero mean, so early actions explore evenly) and 1 for
the value output; separate policy and value networks; tanh activations; a state-independent
log-std for continuous actions, initialised at 0 (std 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Normal

from rlvet.errors import RlvetInputError

__all__ = ["ActionSpec", "Agent", "NumpyPolicy", "flat_weights", "load_flat_weights",
           "obs_dim"]

LOG_SQRT_2PI = 0.5 * float(np.log(2 * np.pi))  # the Normal log-density's constant
HIDDEN_GAIN = float(np.sqrt(2))  # keeps activations' scale through tanh layers (Saxe et al.)
POLICY_GAIN = 0.01  # tiny last layer: near-uniform initial policy (Andrychowicz et al. 2021)
VALUE_GAIN = 1.0


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """The action interface of an env.

    Attributes:
        discrete: a Discrete space (categorical head) or a Box (Gaussian head).
        size: number of actions (discrete) or action dimensions (continuous).
        low, high: Box bounds, shape (size,); None for discrete. Sampled actions are
            clipped to them when sent to the env, and stored unclipped (the log-prob is
            of the unclipped sample, as in CleanRL and SB3).
    """

    discrete: bool
    size: int
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    @classmethod
    def of(cls, space: gym.Space) -> ActionSpec:
        """Read a Discrete or 1-D Box action space.

        Raises:
            RlvetInputError: any other space (MultiDiscrete, Dict, ...).
        """
        if isinstance(space, gym.spaces.Discrete):
            return cls(discrete=True, size=int(space.n))
        if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            return cls(discrete=False, size=int(space.shape[0]),
                       low=space.low.astype(np.float32), high=space.high.astype(np.float32))
        raise RlvetInputError(
            f"rlvet train supports Discrete and 1-D Box action spaces, got {space}")

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        """Actions as the env takes them: ints, or floats clipped to the Box."""
        if self.discrete:
            return actions.astype(np.int64)
        return np.clip(actions, self.low, self.high)


def obs_dim(space: gym.Space) -> int:
    """Flat size of a Box observation space.

    Raises:
        RlvetInputError: a non-Box observation space.
    """
    if not isinstance(space, gym.spaces.Box):
        raise RlvetInputError(
            f"rlvet train supports Box observation spaces, got {space}; flatten it first "
            f"(gymnasium.wrappers.FlattenObservation)")
    return int(np.prod(space.shape))


def _layer(n_in: int, n_out: int, gain: float) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.constant_(layer.bias, 0.0)
    return layer


def _mlp(n_in: int, hidden: int, n_out: int, out_gain: float) -> nn.Sequential:
    return nn.Sequential(_layer(n_in, hidden, HIDDEN_GAIN), nn.Tanh(),
                         _layer(hidden, hidden, HIDDEN_GAIN), nn.Tanh(),
                         _layer(hidden, n_out, out_gain))


class Agent(nn.Module):
    """Policy and value networks for flat observations.

    Args:
        n_obs: flat observation size.
        action: the action interface.
        hidden: width of both hidden layers.
    """

    def __init__(self, n_obs: int, action: ActionSpec, hidden: int = 64) -> None:
        super().__init__()
        self.action = action
        self.critic = _mlp(n_obs, hidden, 1, VALUE_GAIN)
        self.actor = _mlp(n_obs, hidden, action.size, POLICY_GAIN)
        if not action.discrete:
            self.log_std = nn.Parameter(torch.zeros(1, action.size))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """V(s), shape (n,)."""
        return self.critic(obs).squeeze(-1)

    def _dist(self, obs: torch.Tensor) -> Categorical | Normal:
        out = self.actor(obs)
        if self.action.discrete:
            return Categorical(logits=out)
        return Normal(out, self.log_std.expand_as(out).exp())

    def _log_prob(self, dist: Categorical | Normal, actions: torch.Tensor) -> torch.Tensor:
        lp = dist.log_prob(actions)
        return lp if self.action.discrete else lp.sum(-1)

    def act(self, obs: torch.Tensor, generator: torch.Generator
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample actions with an explicit generator (reproducible, checkpointable).

        Args:
            obs: shape (n, n_obs), normalised.
            generator: the actor's own RNG; torch.distributions' ``sample`` would draw from
                the process-global RNG instead.

        Returns:
            actions (n,) int64 or (n, size) float32, their log-probs (n,), values (n,).
        """
        dist = self._dist(obs)
        if isinstance(dist, Categorical):
            actions = torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1)
        else:
            noise = torch.randn(dist.mean.shape, generator=generator)
            actions = dist.mean + dist.stddev * noise
        return actions, self._log_prob(dist, actions), self.value(obs)

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """The most likely action (argmax / mean), for evaluation."""
        out = self.actor(obs)
        return out.argmax(-1) if self.action.discrete else out

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probs of ``actions``, entropies and values under the current weights, (n,) each."""
        dist = self._dist(obs)
        ent = dist.entropy()
        if not self.action.discrete:
            ent = ent.sum(-1)
        return self._log_prob(dist, actions), ent, self.value(obs)


class NumpyPolicy:
    """An Agent's networks as float32 numpy arrays: ``act`` for actors, ``greedy`` for
    evaluation.

    Why not torch: an actor runs the networks on a handful of observations per vector step
    (4 envs x 4 inputs for CartPole). At that size torch's per-call dispatch -- module
    hooks, a ``Categorical`` that validates its arguments, ``multinomial`` -- costs about
    0.5 ms per step, several times the env step itself, and the actors, not the env,
    become the throughput limit. The same float32 arithmetic in numpy costs a few
    microseconds per layer. The learner keeps torch: it needs gradients, and it recomputes
    every log-prob it trains on from its own weights, so the two agree to float32 rounding
    (the behaviour log-probs enter only PPO's ratio, where 1e-7 is nothing).

    Args:
        agent: the weights to copy (later changes to ``agent`` are not seen).

    Example:
        >>> agent = Agent(4, ActionSpec(discrete=True, size=2))
        >>> a, logp, v = NumpyPolicy(agent).act(np.zeros((3, 4), np.float32),
        ...                                     np.random.default_rng(0))
        >>> a.shape, logp.shape, v.shape
        ((3,), (3,), (3,))
    """

    def __init__(self, agent: Agent) -> None:
        self.action = agent.action
        self.critic = _numpy_layers(agent.critic)
        self.actor = _numpy_layers(agent.actor)
        self.log_std = (None if agent.action.discrete
                        else agent.log_std.detach().numpy().astype(np.float32).reshape(-1))

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
            actions (n,) int64 or (n, size) float32, their log-probs (n,) float32, values
            (n,) float32.
        """
        out = self._forward(self.actor, obs)
        if self.log_std is None:
            logp_all = out - _logsumexp(out)
            cdf = np.cumsum(np.exp(logp_all.astype(np.float64)), axis=1)
            u = rng.random(out.shape[0])
            actions = np.minimum((cdf <= u[:, None]).sum(axis=1), out.shape[1] - 1)
            logp = logp_all[np.arange(out.shape[0]), actions]
        else:
            noise = rng.standard_normal(out.shape, dtype=np.float32)
            actions = out + np.exp(self.log_std) * noise
            logp = (-0.5 * noise**2 - self.log_std - LOG_SQRT_2PI).sum(axis=1)
        return (actions.astype(np.int64) if self.log_std is None else actions,
                logp.astype(np.float32), self.value(obs).astype(np.float32))

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """The most likely action (argmax / mean) of float32 observations (n, n_obs)."""
        out = self._forward(self.actor, obs)
        return out.argmax(axis=1) if self.log_std is None else out


def _numpy_layers(mlp: nn.Sequential) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight transposed, bias) of each Linear layer, float32, contiguous."""
    return [(np.ascontiguousarray(m.weight.detach().numpy().T, dtype=np.float32),
             m.bias.detach().numpy().astype(np.float32))
            for m in mlp if isinstance(m, nn.Linear)]


def _logsumexp(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1, keepdims=True)
    return top + np.log(np.exp(x - top).sum(axis=1, keepdims=True))


def flat_weights(agent: Agent) -> np.ndarray:
    """All parameters as one float32 vector (the broadcast form)."""
    return nn.utils.parameters_to_vector(agent.parameters()).detach().numpy().astype(np.float32)


def load_flat_weights(agent: Agent, flat: np.ndarray) -> None:
    """Load a vector from ``flat_weights`` into ``agent`` in place."""
    with torch.no_grad():
        nn.utils.vector_to_parameters(torch.from_numpy(np.asarray(flat, dtype=np.float32)),
                                      agent.parameters())

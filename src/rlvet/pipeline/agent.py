"""The actor-critic networks: separate tanh MLPs, orthogonal init, discrete or Gaussian head.

Contents:
    Agent -- ``act`` (sampling with an explicit torch.Generator), ``greedy``, ``evaluate``
        (log-probs, entropy, values for the PPO loss), ``value``, ``numpy_policy`` (the
        torch-free copy actors and evaluation run): the learner's networks.
    flat_weights(agent), load_flat_weights(agent, flat) -- one float32 vector, the form the
        learner broadcasts to actors.

Details that matter (Engstrom et al. 2020; Andrychowicz et al. 2021; CleanRL ``ppo.py``):
orthogonal weights with gain sqrt(2) in hidden layers, 0.01 for the policy output (the
initial policy is near-uniform / near-zero mean, so early actions explore evenly) and 1 for
the value output; separate policy and value networks; tanh activations; a state-independent
log-std for continuous actions, initialised at 0 (std 1).
"""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Normal

from rlvet.pipeline.numpy_policy import NumpyPolicy
from rlvet.pipeline.spaces import ActionSpec, obs_dim

__all__ = ["ActionSpec", "Agent", "NumpyPolicy", "flat_weights", "load_flat_weights",
           "obs_dim"]  # ActionSpec and obs_dim live in ``spaces`` (torch-free), kept here too

HIDDEN_GAIN = float(np.sqrt(2))  # keeps activations' scale through tanh layers (Saxe et al.)
POLICY_GAIN = 0.01  # tiny last layer: near-uniform initial policy (Andrychowicz et al. 2021)
VALUE_GAIN = 1.0


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
        return cast(torch.Tensor, self.critic(obs).squeeze(-1))

    def _dist(self, obs: torch.Tensor) -> Categorical | Normal:
        out = self.actor(obs)
        if self.action.discrete:
            return Categorical(logits=out)
        return Normal(out, self.log_std.expand_as(out).exp())

    def _log_prob(self, dist: Categorical | Normal, actions: torch.Tensor) -> torch.Tensor:
        # torch leaves Normal's methods unannotated (untyped_calls_exclude misses unions)
        lp = dist.log_prob(actions)  # type: ignore[no-untyped-call]
        return cast(torch.Tensor, lp if self.action.discrete else lp.sum(-1))

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
        return cast(torch.Tensor, out.argmax(-1) if self.action.discrete else out)

    def numpy_policy(self) -> NumpyPolicy:
        """A float32 numpy copy of the current weights (see ``NumpyPolicy``)."""
        first = self.critic[0]
        assert isinstance(first, nn.Linear)
        return NumpyPolicy.from_flat(flat_weights(self), n_obs=first.in_features,
                                     action=self.action, hidden=first.out_features)

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probs of ``actions``, entropies and values under the current weights, (n,) each.

        The categorical case is written out (log-softmax, gather) rather than built as a
        ``Categorical``: the same numbers, without the distribution's argument validation
        and normalisation, which cost more than the network on a PPO minibatch.
        """
        if not self.action.discrete:
            dist = self._dist(obs)
            entropy = dist.entropy()  # type: ignore[no-untyped-call]  # as log_prob above
            return self._log_prob(dist, actions), entropy.sum(-1), self.value(obs)
        logp_all = self.actor(obs).log_softmax(-1)
        logp = logp_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        ent = -(logp_all.exp() * logp_all).sum(-1)
        return logp, ent, self.value(obs)


def flat_weights(agent: Agent) -> np.ndarray:
    """All parameters as one float32 vector (the broadcast form)."""
    return nn.utils.parameters_to_vector(agent.parameters()).detach().numpy().astype(np.float32)


def load_flat_weights(agent: Agent, flat: np.ndarray) -> None:
    """Load a vector from ``flat_weights`` into ``agent`` in place."""
    with torch.no_grad():
        nn.utils.vector_to_parameters(torch.from_numpy(np.asarray(flat, dtype=np.float32)),
                                      agent.parameters())

"""gymnax 1.0.1: observations outside their declared spaces, unchecked actions, and a
Gymnasium wrapper that breaks the Gymnasium step contract.

1. Catch-bsuite declares Box(0, 1, int32) but get_obs builds float32 (jnp.zeros);
   FourRooms-misc declares Box(1, 11, float32) but returns int32 positions. Neither
   observation is ``in`` its space (Box.contains checks the dtype cast).
2. MemoryChain-bsuite declares Box(0, 2 * num_bits) but shows the context as
   ``2 * context - 1``, i.e. -1 for a 0 bit, on the first step.
3. Actions are never checked: CartPole-v1 computes ``force_mag * action - force_mag *
   (1 - action)``, so action 2 pushes with 3x the force; DeepSea-bsuite indexes with -1.
4. gymnax.wrappers.gym.GymnaxToGymWrapper returns JAX arrays for obs, reward, terminated
   and truncated (Gymnasium's passive checker warns on each), and because gymnax's step
   auto-resets, the observation it returns on the terminal step is the first observation
   of the next episode (the real one is only in info["final_observation"]).

Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/gymnax_spaces_and_actions.py
"""

from __future__ import annotations

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments.spaces import gymnax_space_to_gym_space
from gymnax.wrappers.gym import GymnaxToGymWrapper

KEY = jax.random.key(0)


def first_obs(name: str) -> tuple[np.ndarray, object]:
    env, params = gymnax.make(name)
    obs, _ = env.reset(KEY, params)
    return np.asarray(obs), gymnax_space_to_gym_space(env.observation_space(params))


hits = []
for name in ("Catch-bsuite", "FourRooms-misc", "MemoryChain-bsuite"):
    obs, space = first_obs(name)
    inside = space.contains(obs)
    print(f"{name}: reset obs dtype {obs.dtype}, min {obs.min()}; space {space}; "
          f"in space: {inside}")
    hits.append(not inside)

env, params = gymnax.make("CartPole-v1")
_, state = env.reset(KEY, params)
outs = {a: np.asarray(env.step_env(KEY, state, jnp.int32(a), params)[0]) for a in (0, 1, 2)}
pushed = outs[2][1] - outs[0][1] > 1.5 * (outs[1][1] - outs[0][1])
print(f"CartPole-v1: x_dot after action 0/1/2: {[float(outs[a][1]) for a in (0, 1, 2)]} "
      f"(action 2 accepted, pushes harder than 1: {bool(pushed)})")
hits.append(bool(pushed))

wrapped = GymnaxToGymWrapper(*gymnax.make("CartPole-v1"))
wrapped.reset(seed=0)
while True:
    obs, reward, terminated, truncated, info = wrapped.step(0)
    if bool(terminated) or bool(truncated):
        break
final = np.asarray(info["final_observation"])
print(f"GymnaxToGymWrapper: reward {type(reward).__name__}, terminated "
      f"{type(terminated).__name__}; terminal obs == final_observation: "
      f"{np.array_equal(np.asarray(obs), final)} (returned pole angle {float(obs[2]):+.3f}, "
      f"real final angle {float(final[2]):+.3f})")
hits.append(not isinstance(reward, float) and not np.array_equal(np.asarray(obs), final))
print("DEFECT REPRODUCED" if all(hits) else f"not all reproduced: {hits}")

"""MinAtar (standalone package, Gymnasium API in minatar.gym): the sticky-action memory
``Environment.last_action`` is never cleared by reset(), so state from an earlier episode
leaks into the next one. With sticky_action_prob 0.1 the first step after reset(seed=19)
draws 0.0975 < 0.1 and repeats the *previous episode's* last action instead of the one
given (a fresh env repeats action 0): the same seed and actions give different episodes.
The class is shared by every game: the loop at the end counts the seeds that diverge per
game (Breakout 9, Asterix 5, Seaquest 5, SpaceInvaders 5 of 40; Freeway 0, its chicken
cannot move on the first frames).
Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/minatar_sticky_action_leak.py
"""

import gymnasium as gym
import minatar.gym
import numpy as np

minatar.gym.register_envs()
used, fresh = gym.make("MinAtar/Asterix-v1"), gym.make("MinAtar/Asterix-v1")
used.reset(seed=0)
for _ in range(30):
    used.step(3)  # end the earlier episode's moves with a non-zero action (right)
print("last_action kept after the earlier episode:", used.unwrapped.game.last_action)
obs_used, _ = used.reset(seed=19)
obs_fresh, _ = fresh.reset(seed=19)
print("reset observations equal:", np.array_equal(obs_used, obs_fresh))
step_used = used.step(0)[0]
step_fresh = fresh.step(0)[0]
print("last_action after reset():", used.unwrapped.game.last_action, "vs fresh", 0)
same = np.array_equal(step_used, step_fresh)
print("step 1 observations equal:", same)
if not same:
    print("DEFECT REPRODUCED: the same seed and actions give a different first step after an "
          "earlier episode (sticky action from the previous episode)")

# the same Environment class serves every MinAtar game: seeds whose first 20 steps differ
# from a fresh env's after an earlier episode that ended on action 1
for game in ("Breakout", "Asterix", "Freeway", "Seaquest", "SpaceInvaders"):
    diverged = []
    for seed in range(40):
        used, fresh = gym.make(f"MinAtar/{game}-v1"), gym.make(f"MinAtar/{game}-v1")
        used.reset(seed=100)
        for _ in range(5):
            used.step(1)
        used.reset(seed=seed)
        fresh.reset(seed=seed)
        for _ in range(20):
            a, b = used.step(0), fresh.step(0)
            if not np.array_equal(a[0], b[0]):
                diverged.append(seed)
                break
            if a[2] or b[2]:
                break
    print(f"{game}: {len(diverged)} of 40 seeds diverge (seed 19: {19 in diverged})")

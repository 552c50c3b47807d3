"""JAX envs of heldout4 that accept actions outside their Discrete space without an error.

JAX indexing never raises: gathers clamp (or wrap negative indices), ``lax.switch`` clamps
its index, scatters drop out-of-bounds updates. Nothing in these envs checks the action:

- craftax 1.6.1 (Classic and full): ``DIRECTIONS[action]`` clamps and every other action
  is an ``action == Action.X.value`` test, so -1 and n run as NOOP.
- xminigrid 0.9.3: ``take_action`` dispatches with ``lax.switch``: -1 runs as 0 (forward),
  6 as 5 (toggle); MemoryS8 first casts the action to uint8, so -1 becomes 255 -> toggle.
- pgx 2.6.0: ``Env.step`` judges legality by ``legal_action_mask[action]`` (-1 wraps, n
  clamps) while the game steps the raw action: in connect_four, 7 places no piece and
  passes the turn (the scatter is dropped), -1 drops in column 6; in 2048, -1 slides LEFT
  (``lax.switch`` clamps) but is judged by DOWN's legality (mask[-1]), a hybrid action.

Run: .venv-realenvs/bin/python benchmarks/realenvs/repro/heldout4_jax_out_of_range_actions.py
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def same_tree(a: object, b: object) -> bool:
    def plain(x: object) -> np.ndarray:
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        return np.asarray(x)

    return all(np.array_equal(plain(x), plain(y))
               for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b),
                               strict=True))


hits = []

# craftax: -1 and n give exactly the state of NOOP (0), no error
from craftax.craftax_env import make_craftax_env_from_name  # noqa: E402

env = make_craftax_env_from_name("Craftax-Classic-Symbolic-v1", auto_reset=False)
params = env.default_params
n = env.action_space(params).n
_, state = env.reset(jax.random.key(0), params)
key = jax.random.key(1)
_, noop, *_ = env.step(key, state, jnp.int32(0), params)
for bad in (-1, n):
    _, out, *_ = env.step(key, state, jnp.int32(bad), params)
    hit = same_tree(out, noop)
    hits.append(hit)
    print(f"craftax Classic (Discrete({n})): action {bad} accepted, same state as NOOP: {hit}")

# xminigrid: -1 -> forward (Empty) or toggle (Memory), 6 -> toggle
import xminigrid  # noqa: E402

for name, cases in (("MiniGrid-Empty-8x8", ((-1, 0), (6, 5))),
                    ("MiniGrid-MemoryS8", ((-1, 5), (6, 5)))):
    xenv, xparams = xminigrid.make(name)
    step = jax.jit(xenv.step)
    ts = xenv.reset(xparams, jax.random.key(0))
    print(f"xminigrid {name}: Discrete({xenv.num_actions(xparams)})")
    for bad, good in cases:
        ts_bad = step(xparams, ts, jnp.int32(bad))
        ts_good = step(xparams, ts, jnp.int32(good))
        hit = same_tree(ts_bad.state, ts_good.state)
        others = [a for a in range(6) if a != good
                  and not same_tree(step(xparams, ts, jnp.int32(a)).state, ts_good.state)]
        hits.append(hit)
        print(f"   action {bad} accepted, same state as action {good}: {hit} "
              f"(actions that differ from {good} here: {others})")

# pgx connect_four: 7 passes the turn without a piece; -1 plays column 6
import pgx  # noqa: E402

c4 = pgx.make("connect_four")
init, step = jax.jit(c4.init), jax.jit(c4.step)
s = step(init(jax.random.key(0)), jnp.int32(3), jax.random.key(1))  # one piece in column 3
for bad in (7, -1):
    t = step(s, jnp.int32(bad), jax.random.key(2))
    board = np.asarray(t._x.board).reshape(6, 7)
    pieces, col6 = int((board >= 0).sum()), int((board[:, 6] >= 0).sum())
    print(f"pgx connect_four (Discrete(7)): action {bad}: terminated {bool(t.terminated)}, "
          f"pieces {pieces} (was 1), column 6 holds {col6}, "
          f"turn passed {int(s.current_player)} -> {int(t.current_player)}")
    hits.append(not bool(t.terminated))

# pgx 2048: -1 slides left but is judged by down's legality
g = pgx.make("2048")
init, step = jax.jit(g.init), jax.jit(g.step)
for k in range(500):
    s = init(jax.random.key(k))
    mask = np.asarray(s.legal_action_mask)
    if mask[0] and not mask[3]:  # left legal, down illegal
        break
outs = {a: step(s, jnp.int32(a), jax.random.key(9)) for a in (-1, 0)}
print(f"pgx 2048 (Discrete(4)), legal mask (left, up, right, down) {mask.astype(int).tolist()}:")
for a, t in outs.items():
    print(f"   action {a:2d}: board {np.asarray(t._board).tolist()} "
          f"terminated {bool(t.terminated)} reward {float(t.rewards[0])}")
hybrid = (np.array_equal(np.asarray(outs[-1]._board), np.asarray(outs[0]._board))
          and bool(outs[-1].terminated) and not bool(outs[0].terminated))
print(f"   -1 moved the board like LEFT yet ended the game as an illegal DOWN: {hybrid}")
hits.append(hybrid)
print("DEFECT REPRODUCED" if all(hits) else f"not reproduced ({hits})")

#!/usr/bin/env bash
# Build the real-env corpus virtualenv (.venv-realenvs), apart from rlvet's core deps.
# Usage (repository root): bash benchmarks/realenvs/install.sh
# Every package comes from the registry; a package that fails to install is reported and
# skipped (its envs show as "not installed" in the benchmark), never silently dropped.
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${REALENVS_VENV:-$ROOT/.venv-realenvs}"
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install --quiet --upgrade pip
$PIP install --quiet -e "$ROOT"
# one line per package group: a failure in one does not stop the others
PKG_GROUPS=(
  "gymnasium[classic-control,toy-text,mujoco]"
  "box2d==2.3.10 pygame"
  "shimmy[dm-control] dm-control"
  "mo-gymnasium"
  "minigrid"
  "popgym"
  "crafter"
  "highway-env"
  "panda-gym"
  "jumanji"
  "textworld"
  # heldout2 (fresh held-out packages). gymnax 1.0.1 pins gymnasium<1.4: installed without
  # its deps (flax, seaborn, six added by hand) so the corpus keeps gymnasium 1.4.0.
  "flax seaborn six"
  "--no-deps gymnax==1.0.1"
  "ale-py"  # the wheels ship the Atari ROMs
  "gymnasium-robotics"  # Fetch/Franka assert on mujoco 4 joint types: only maze/adroit used
  "miniworld"  # pyglet 1.5, renders headless through EGL
  # not installable here: safety-gymnasium 1.0.0 (pins gymnasium 0.28.1, builds pygame from
  # source; with --no-deps it imports gymnasium.wrappers.compatibility, gone in 1.x)
  # heldout3 (fresh held-out packages). gymnasium-2048 0.1.2 pins gymnasium 1.3: installed
  # without its deps (it needs only gymnasium, numpy, pygame, already here).
  "flappy-bird-gymnasium"
  "gym-anytrading"  # ships its price data sets (GOOGL, EURUSD) in the wheel
  "gym-simplegrid"
  "gym-electric-motor"
  "minatar"
  "--no-deps gymnasium-2048==0.1.2"
  # not used: pogema 1.4.0 pins gymnasium 0.28.1, numpy 1.26 and pydantic 1; tetris-gymnasium
  # 0.3.1 pulls jax 0.5.3 (the corpus keeps jax 0.10)
  # heldout4 (fresh held-out packages). tetris-gymnasium 0.3.1 pins jax<0.6 for its JAX
  # variant only: installed without its deps (its numpy env needs gymnasium, numpy and
  # opencv-python, the last pulled by gym-pusht) so the corpus keeps jax 0.10.
  "gym-pusht"  # pymunk, shapely, opencv-python
  "--no-deps tetris-gymnasium==0.3.1"
  "craftax"  # JAX; builds its texture cache on first use (no download)
  "xminigrid"  # JAX; only the MiniGrid-* ids (the XLand rulesets are a download)
  "pgx"  # JAX board games
  "rware"
  # not used: navix 0.7.4 (pulls black, flake8, opentelemetry, distrax), bluesky-gym 0.2.0
  # (pulls torch with CUDA), gym-trading-env 0.3.5 (needs a price data set)
  "pytest"  # runs the importorskip tests of tests/envcheck against the real packages
)
for group in "${PKG_GROUPS[@]}"; do
  # shellcheck disable=SC2086
  if $PIP install --quiet $group; then echo "installed: $group"; else echo "FAILED: $group"; fi
done
$VENV/bin/python -m pip freeze > "$ROOT/benchmarks/realenvs/installed.txt"

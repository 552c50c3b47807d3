"""Turn the user's SPEC strings into callables: env factories and expert policies.

Contents:
    load_callable -- ``package.module:callable`` or ``path/to/file.py:callable``.
    env_factory -- a registered Gymnasium id or a factory spec -> a no-arg env factory.
    validate_env -- build once (in the sandbox child) so bad specs fail fast with exit 2.

Every failure is an ``RlvetInputError`` with one actionable line: an unknown id names the
nearest registered ids, an old ``gym`` env names the shimmy bridge.

A factory spec is imported when the factory is *called*, not when it is resolved: importing
runs the user's module, and a module that hangs or kills its process must do so in the
sandbox child (``rlvet.sandbox``), where it becomes a finding, not in the CLI's process.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

import gymnasium as gym

from rlvet.errors import RlvetInputError

__all__ = ["env_factory", "load_callable", "validate_env"]

EnvFactory = Callable[[], gym.Env]


def _load_module(module_part: str) -> Any:
    if module_part.endswith(".py"):
        path = Path(module_part)
        if not path.is_file():
            raise RlvetInputError(f"{module_part}: file not found")
        name = f"rlvet_user_{path.stem}"
        cached = sys.modules.get(name)
        if cached is not None and getattr(cached, "__file__", None) == str(path.resolve()):
            return cached  # a lazy factory imports on every build: execute the file once
        spec = importlib.util.spec_from_file_location(name, path.resolve())
        if spec is None or spec.loader is None:
            raise RlvetInputError(f"{module_part}: cannot be imported as a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # so pickling and child processes find it again
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise RlvetInputError(
                f"{module_part}: import failed: {type(exc).__name__}: {exc}"
            ) from exc
        return module
    try:
        return importlib.import_module(module_part)
    except Exception as exc:
        raise RlvetInputError(
            f"{module_part}: cannot import module ({type(exc).__name__}: {exc})"
        ) from exc


def load_callable(spec: str) -> Callable[..., Any]:
    """Import ``module:attr`` or ``file.py:attr`` and return the callable.

    Example:
        >>> load_callable("math:sqrt")(4.0)
        2.0
    """
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise RlvetInputError(f"{spec}: expected 'package.module:callable' or 'file.py:callable'")
    module = _load_module(module_part)
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise RlvetInputError(f"{spec}: module '{module_part}' has no attribute '{attr}'")
        target = getattr(target, part)
    if not callable(target):
        raise RlvetInputError(f"{spec}: '{attr}' is not callable")
    return cast("Callable[..., Any]", target)


def _is_factory_spec(spec: str) -> bool:
    return ":" in spec and not spec.startswith(":")


def _make_registered(env_id: str, kwargs: dict[str, Any]) -> gym.Env:
    # rlvet audits every step itself; Gymnasium's passive checker would only print warnings.
    return gym.make(env_id, disable_env_checker=True, **kwargs)


def _call_factory(spec: str, kwargs: dict[str, Any]) -> Any:
    return load_callable(spec)(**kwargs)


def env_factory(spec: str, env_kwargs: dict[str, Any] | None = None) -> EnvFactory:
    """A no-arg factory for SPEC; raises ``RlvetInputError`` for unknown ids here and for
    bad modules when called (the import happens then, see the module docstring)."""
    kwargs = dict(env_kwargs or {})
    if _is_factory_spec(spec) and spec not in gym.registry:
        return partial(_call_factory, spec, kwargs)
    if spec not in gym.registry:
        close = difflib.get_close_matches(spec, list(gym.registry), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise RlvetInputError(f"{spec}: not a registered Gymnasium id{hint}")
    return partial(_make_registered, spec, kwargs)


def _old_gym_hint(env: Any) -> str | None:
    module = type(env).__module__ or ""
    if module.split(".")[0] == "gym" or hasattr(env, "seed") and not isinstance(env, gym.Env):
        return (
            f"{type(env).__name__} speaks the old `gym` API; wrap it with shimmy "
            "(`pip install shimmy`, then `gymnasium.make('GymV26Environment-v0', env=...)`)"
        )
    return None


def validate_env(spec: str, factory: EnvFactory) -> None:
    """Build and close the env once so a broken spec fails before any probe or episode."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecation notices are not rlvet's findings
            env = factory()
    except RlvetInputError:
        raise
    except Exception as exc:
        raise RlvetInputError(
            f"{spec}: building the env raised {type(exc).__name__}: {exc}"
        ) from exc
    try:
        if not isinstance(env, gym.Env):
            hint = _old_gym_hint(env)
            raise RlvetInputError(
                f"{spec}: "
                + (hint or f"factory returned {type(env).__name__}, not a gymnasium.Env")
            )
    finally:
        try:
            env.close()
        except Exception:  # closing is checked by the API probe, not here
            pass

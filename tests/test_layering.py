"""Data flows one way (ARCHITECTURE.md section 4): domain packages return findings and figure
specs and never import the renderer (``rlvet.report``) or the face (``rlvet.cli``); nothing
but ``rlvet/__main__`` imports the face.

Walks the import statements of every module under ``src/rlvet`` -- function-level (lazy)
imports included -- so a violation fails here however it is spelled.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import rlvet

SRC = Path(rlvet.__file__).parent

DOMAIN = frozenset({"envcheck", "doctor", "signals", "reward", "evaluate", "resources",
                    "pipeline", "integrations", "findings", "monitor", "figures", "stats",
                    "documents"})
"""Top-level modules and packages that judge or hold data: they never render."""

RENDERING = ("rlvet.report", "rlvet.cli")

ALLOWED: dict[str, frozenset[str]] = {}
"""Known violations, each with the issue that removes it."""


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _imports(path: Path, root: Path = SRC) -> Iterator[str]:
    """Every absolute module name ``path`` (under ``root``, the ``rlvet`` package) imports:
    ``from rlvet import cli`` gives ``rlvet.cli``; relative imports are resolved."""
    package = ["rlvet", *path.relative_to(root).parent.parts]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[:len(package) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _is(module: str, target: str) -> bool:
    return module == target or module.startswith(target + ".")


def _domain(path: Path) -> bool:
    rel = path.relative_to(SRC)
    return (rel.parts[0] if len(rel.parts) > 1 else rel.stem) in DOMAIN


@pytest.mark.parametrize("path", [p for p in _modules() if _domain(p)], ids=_name)
def test_domain_modules_never_import_the_renderer_or_the_face(path: Path) -> None:
    allowed = ALLOWED.get(_name(path), frozenset())
    bad = sorted({m for m in _imports(path) if any(_is(m, t) for t in RENDERING)
                  and m not in allowed and not any(_is(m, a) for a in allowed)})
    assert not bad, f"{_name(path)} imports {', '.join(bad)}: return data, let report/ draw"


@pytest.mark.parametrize("path", [p for p in _modules() if _name(p) not in
                                  ("cli.py", "__main__.py")], ids=_name)
def test_only_main_imports_the_face(path: Path) -> None:
    bad = sorted({m for m in _imports(path) if _is(m, "rlvet.cli")})
    assert not bad, f"{_name(path)} imports {', '.join(bad)}: only the face imports the face"


def test_the_walk_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "doctor"
    pkg.mkdir()
    mod = pkg / "x.py"
    mod.write_text("def f():\n    from rlvet import cli\n    from ..report import html\n")
    found = set(_imports(mod, root=tmp_path))
    assert {"rlvet.cli", "rlvet.report.html"} <= found


def test_the_allow_list_names_real_violations() -> None:
    for name, modules in ALLOWED.items():
        imported = set(_imports(SRC / name))
        assert modules & imported, f"{name} no longer imports {sorted(modules)}: drop its entry"

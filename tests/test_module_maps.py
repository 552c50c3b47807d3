"""Package maps in docstrings match the tree (ARCHITECTURE.md section 4; issue #14).

The rule. A package's ``__init__`` docstring holds a *module map* when it has either

* a ``Contents`` heading that says it lists modules (``Contents (one idea per module):``),
  followed by indented entries ``name[, name ...] -- what it is``; lines indented deeper
  than the first entry continue the one above and name nothing; or
* a paragraph that starts with ``Modules:``; every double-backquoted bare name in it
  (````spec````, ````checks/````) is a module (or, with the slash, a subpackage); dotted or
  spaced names (````rlvet.figures````, ````rlvet doctor````) are not.

For every package with a map: each name in the map is a module file or subpackage of that
package, and each module file (``*.py`` but ``__init__``) and subpackage is named. A
``Contents:`` heading without "module" lists a module's or package's *objects* and is not a
map. Packages without a map are listed in ``UNMAPPED`` so that adding a map, or a package,
is a decision. The README's Layout block is checked the same way: every ``src/rlvet/...``
path in it exists, every subpackage of ``rlvet`` appears, and names in parentheses after a
package path (``integrations/ (sb3, trl)``) are modules of that package; other words after
a path are prose.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "rlvet"

UNMAPPED = {"rlvet", "rlvet.envcheck.checks", "rlvet.integrations", "rlvet.resources",
            "rlvet.signals"}
"""Packages whose docstring names no modules (small, or one module per check by name)."""

_TICKED = re.compile(r"``([A-Za-z_][A-Za-z0-9_]*/?)``")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*/?$")


def _packages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py"))


def _dotted(pkg: Path) -> str:
    return ".".join(pkg.relative_to(PACKAGE.parent).parts)


def _members(pkg: Path) -> set[str]:
    """Module names (``name``) and subpackages (``name/``) of one package."""
    modules = {p.stem for p in pkg.glob("*.py") if p.stem != "__init__"}
    subpackages = {f"{p.name}/" for p in pkg.iterdir() if (p / "__init__.py").is_file()}
    return modules | subpackages


def _contents_map(lines: list[str], start: int) -> list[str]:
    """Names of a ``Contents (... module ...):`` block starting after line ``start``."""
    names: list[str] = []
    indent: int | None = None
    for line in lines[start + 1:]:
        if not line.strip():
            break
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        if depth < indent:
            break
        if depth > indent:
            continue  # continuation of the entry above
        head, sep, _ = line.strip().partition(" -- ")
        assert sep, f"map entry without ' -- ': {line.strip()!r}"
        names.extend(n.strip() for n in head.split(","))
    return names


def _modules_paragraph(lines: list[str], start: int) -> list[str]:
    """Double-backquoted bare names of the paragraph that starts at ``start``."""
    paragraph: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            break
        paragraph.append(line)
    return _TICKED.findall(" ".join(paragraph))


def module_map(docstring: str) -> list[str] | None:
    """The names a docstring's module map lists, or None when it has no map."""
    lines = docstring.splitlines()
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith("Contents") and text.endswith(":") and "module" in text:
            return _contents_map(lines, i)
        if text.startswith("Modules:"):
            return _modules_paragraph(lines, i)
    return None


def _docstring(pkg: Path) -> str:
    return ast.get_docstring(ast.parse((pkg / "__init__.py").read_text())) or ""


def test_the_parser_reads_both_forms() -> None:
    contents = ("x.\n\nContents (one per module):\n    a, b -- one.\n        c -- more.\n"
                "    d -- two\n")
    assert module_map(contents) == ["a", "b", "d"]
    assert module_map("x.\n\nModules: ``a`` and ``b/``, not ``rlvet.c``.\n") == ["a", "b/"]
    assert module_map("x.\n\nContents:\n    run(x) -- an object, not a module.\n") is None


@pytest.mark.parametrize("pkg", _packages(), ids=_dotted)
def test_package_map_matches_the_tree(pkg: Path) -> None:
    names = module_map(_docstring(pkg))
    if names is None:
        assert _dotted(pkg) in UNMAPPED, (
            f"{_dotted(pkg)}: docstring has no module map (add 'Modules:' or "
            "'Contents (one idea per module):'), or list the package in UNMAPPED")
        return
    assert _dotted(pkg) not in UNMAPPED, f"{_dotted(pkg)} has a map: remove it from UNMAPPED"
    members = _members(pkg)
    named = set(names)
    assert all(_NAME.match(n) for n in names), names
    where = _dotted(pkg)
    assert not named - members, f"{where}: map names no such module: {sorted(named - members)}"
    assert not members - named, f"{where}: modules missing from the map: {sorted(members - named)}"


def _readme_layout() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout", 1)[1]
    return section.split("```", 2)[1].splitlines()


def test_readme_layout_matches_the_tree() -> None:
    lines = _readme_layout()
    paths = re.findall(r"src/rlvet/[A-Za-z0-9_/.]*", "\n".join(lines))
    assert paths, "README Layout names no src/rlvet paths"
    for path in paths:
        assert (ROOT / path).exists(), f"README Layout names {path}, which does not exist"
    subpackages = {p[:-1] for p in _members(PACKAGE) if p.endswith("/")}
    layout = "\n".join(lines)
    missing = {p for p in subpackages if not re.search(rf"\b{p}/", layout)}
    assert not missing, f"README Layout leaves out packages: {sorted(missing)}"
    # "integrations/ (sb3, trl)", "envcheck/     environment QA (probes, checks/, ...)"
    for pkg, listed in re.findall(r"\b(\w+)/ +[A-Za-z ]*\(([a-z0-9_/, ]+)\)", layout):
        if pkg not in subpackages:
            continue  # tests/ (mirrors src): prose about a folder outside the package
        unknown = {n for n in listed.split(", ") if n not in _members(PACKAGE / pkg)}
        assert not unknown, f"README Layout: {pkg}/ has no {sorted(unknown)}"

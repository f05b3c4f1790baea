"""The package's layering, checked on its source: what ``analysis/`` may import, where imports
may stand, and what rules may touch on the analysis object.

Each check is a function over source text, so it is tested twice: on the real package (it must
find nothing) and on a planted violation (it must find it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "flake8_pyfast"
ANALYSIS = PACKAGE / "analysis"
RULES = PACKAGE / "rules"

#: what the shared analysis must not depend on: the front ends and the other tools
FRONT_ENDS = (
    "flake8_pyfast.checker",
    "flake8_pyfast.plugin",
    "flake8_pyfast.rules",
    "flake8_pyfast.rule",
    "flake8_pyfast.docs",
    "autofix",
    "runtime_check",
)
#: the one module allowed to import inside a function: rule discovery by importlib
LAZY_IMPORTS_ALLOWED = {PACKAGE / "rules" / "__init__.py"}
CORE_MAX_LINES = 400


def module_name(path: Path) -> str:
    """Dotted name of the file, ``__init__`` kept, so relative imports resolve the same way for all."""
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def imported_modules(source: str, module: str) -> list[str]:
    """Every module an ``import``/``from ... import`` anywhere in ``source`` names (relative ones
    resolved against ``module``; ``from pkg import name`` counts as ``pkg`` and ``pkg.name``)."""
    parts = module.split(".")
    out: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = ".".join(parts[: len(parts) - node.level])
                base = f"{anchor}.{base}" if base else anchor
            out.append(base)
            out.extend(f"{base}.{alias.name}" for alias in node.names)
    return out


def front_end_imports(source: str, module: str) -> list[str]:
    return sorted(
        {m for m in imported_modules(source, module) for f in FRONT_ENDS if m == f or m.startswith(f + ".")}
    )


def imports_in_functions(source: str) -> list[int]:
    """Lines of import statements inside a function or lambda body."""
    lines = []
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            lines.extend(n.lineno for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom))
    return sorted(set(lines))


def _analysis_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The parameters of ``fn`` that hold the analysis: named ``an`` or annotated ``Analysis``."""
    args = fn.args
    names = set()
    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        ann = ast.unparse(a.annotation) if a.annotation is not None else ""
        if a.arg == "an" or ann.rpartition(".")[2].strip("'\"") == "Analysis":
            names.add(a.arg)
    return names


def private_analysis_uses(source: str) -> list[str]:
    """``an._something`` in ``source``: a rule reaching into the analysis' internals."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        names = _analysis_names(fn)
        for n in ast.walk(fn):
            if (
                isinstance(n, ast.Attribute)
                and n.attr.startswith("_")
                and isinstance(n.value, ast.Name)
                and n.value.id in names
            ):
                found.append(f"line {n.lineno}: {n.value.id}.{n.attr}")
    return found


def _sources(folder: Path) -> list[Path]:
    files = sorted(folder.rglob("*.py"))
    assert files, folder
    return files


# -- the checks find what they look for ------------------------------------------------------------

def test_the_checks_see_violations():
    planted = "from flake8_pyfast.rules import all_rules\nimport autofix.engine\nfrom ..checker import lint_tree\n"
    assert front_end_imports(planted, "flake8_pyfast.analysis.x") == [
        "autofix.engine", "flake8_pyfast.checker", "flake8_pyfast.checker.lint_tree",
        "flake8_pyfast.rules", "flake8_pyfast.rules.all_rules",
    ]
    assert front_end_imports("from flake8_pyfast import plugin\n", "flake8_pyfast.analysis.x") == [
        "flake8_pyfast.plugin"
    ]
    assert front_end_imports("from .. import docs\n", "flake8_pyfast.analysis.__init__") == [
        "flake8_pyfast.docs"
    ]
    # a prefix is not a match: flake8_pyfast.rule_x is not flake8_pyfast.rule
    assert front_end_imports("import flake8_pyfast.rule_x\nimport autofixer\n", "flake8_pyfast.analysis.x") == []
    lazy = (
        "import os\ndef f():\n    import json\n    g = lambda: __import__('x')\n"
        "    class C:\n        def m(self):\n            from a import b\n"
    )
    assert imports_in_functions(lazy) == [3, 7]
    private = (
        "def check(self, node, an):\n    return an._is_self(node)\n"
        "def helper(x, analysis: Analysis):\n    return analysis._kind(x) or x._private\n"
        "def ok(an):\n    return an.is_self(an)\n"
    )
    assert private_analysis_uses(private) == ["line 2: an._is_self", "line 4: analysis._kind"]


# -- the package -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", _sources(ANALYSIS), ids=lambda p: p.name)
def test_analysis_imports_no_front_end(path: Path):
    assert front_end_imports(path.read_text(encoding="utf-8"), module_name(path)) == []


@pytest.mark.parametrize("path", _sources(PACKAGE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_imports_inside_functions(path: Path):
    if path in LAZY_IMPORTS_ALLOWED:
        return
    assert imports_in_functions(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", _sources(RULES), ids=lambda p: p.name)
def test_rules_use_only_public_analysis(path: Path):
    assert private_analysis_uses(path.read_text(encoding="utf-8")) == []


def test_analysis_core_stays_small():
    lines = (ANALYSIS / "core.py").read_text(encoding="utf-8").count("\n")
    assert lines < CORE_MAX_LINES

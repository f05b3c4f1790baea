"""Program generators for fuzzing the linter and the fixer (used by test_fuzz.py and bench/fuzz.py).

Two sources: hypothesmith's grammar-based programs (with numpy/torch imports put in front, so the
analysis really runs), and mutations of the rules' own examples, the code most likely to reach
the fixes: renamed variables, nesting in loops, functions and classes, comments on every line,
redundant parentheses.
"""

from __future__ import annotations

import ast
import io
import keyword
import random
import textwrap
import tokenize
from collections.abc import Callable

from flake8_pyfast.rules import all_rules

PRELUDE = "import numpy as np\nimport torch\nimport pybullet as p\n"


def examples() -> list[str]:
    return [ex.code for rule in all_rules() for ex in (*rule.bad, *rule.good)]


def _indent(src: str, levels: int = 1) -> str:
    return textwrap.indent(src, "    " * levels)


def nest_in_loop(src: str, rng: random.Random) -> str:
    return f"for _pyf_i in range({rng.randint(1, 3)}):\n" + _indent(src)


def nest_in_function(src: str, rng: random.Random) -> str:
    name = rng.choice(["step", "helper", "_get_obs", "forward", "train"])
    return f"def {name}(self, action):\n" + _indent(src)


def nest_in_class(src: str, rng: random.Random) -> str:
    method = rng.choice(["step", "reset", "__init__", "compute_reward"])
    return f"class Env:\n    def {method}(self):\n" + _indent(src, 2)


def add_comments(src: str, rng: random.Random) -> str:
    """A comment before every logical line end (never inside a string or bracket pair)."""
    lines = src.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, SyntaxError):
        return src
    for tok in reversed(tokens):
        if tok.type == tokenize.NEWLINE and tok.start[0] <= len(lines):
            row, col = tok.start
            line = lines[row - 1]
            if "#" in line[:col]:
                continue
            lines[row - 1] = line[:col] + f"  # note {rng.randint(0, 99)}" + line[col:]
    return "".join(lines)


def parenthesize(src: str, rng: random.Random) -> str:
    """Wrap the value of some single-line assignments in (redundant) parentheses."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return src
    lines = src.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.lineno == node.end_lineno and rng.random() < 0.7:
            v = node.value
            if v.lineno == v.end_lineno and v.col_offset is not None:
                edits.append((v.lineno, v.col_offset, v.end_col_offset))
    for line, start, end in sorted(edits, reverse=True):
        raw = lines[line - 1].encode()
        lines[line - 1] = (raw[:start] + b"(" + raw[start:end] + b")" + raw[end:]).decode()
    return "".join(lines)


def rename(src: str, rng: random.Random) -> str:
    """Rename one assigned local name everywhere it is used as a plain name."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return src
    stored = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
    imported = {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                for a in n.names}
    candidates = [n for n in stored if n not in imported and not keyword.iskeyword(n)]
    if not candidates:
        return src
    old = rng.choice(candidates)
    new = f"{old}_renamed{rng.randint(0, 9)}"
    out = []
    prev = None
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.NAME and tok.string == old and not (prev is not None and prev.string == "."):
            tok = tok._replace(string=new)
        out.append(tok)
        prev = tok if tok.type not in (tokenize.NL, tokenize.COMMENT) else prev
    return tokenize.untokenize(out)


MUTATORS: list[Callable[[str, random.Random], str]] = [
    nest_in_loop, nest_in_function, nest_in_class, add_comments, parenthesize, rename,
]


def mutate(src: str, rng: random.Random, steps: int) -> str:
    for _ in range(steps):
        src = rng.choice(MUTATORS)(src, rng)
    return src


def check_program(src: str) -> str | None:
    """None if all is well; else what went wrong. Programs that do not parse are skipped (None)."""
    from autofix.engine import FixError, SourceError, fix_source
    from flake8_pyfast.checker import lint_source

    try:
        ast.parse(src)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    try:
        lint_source(src)
    except Exception as exc:  # the plugin must never raise
        return f"lint raised {type(exc).__name__}: {exc}"
    try:
        first = fix_source(src, unsafe=True)
    except (FixError, SourceError) as exc:
        return f"fix refused: {exc}"
    except Exception as exc:
        return f"fix raised {type(exc).__name__}: {exc}"
    try:
        ast.parse(first.fixed)
    except SyntaxError as exc:
        return f"fixed code does not parse: {exc}"
    second = fix_source(first.fixed, unsafe=True)
    if second.fixed != first.fixed:
        return "a second fix run changed the code"
    return None

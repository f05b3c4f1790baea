"""Small, stateless helpers over ``ast`` nodes, shared by the analysis and the rules.

Nothing here needs an :class:`~flake8_pyfast.analysis.core.Analysis`: each function looks at the
nodes it is given and nothing else.
"""

from __future__ import annotations

import ast

#: the expressions that open a scope of their own (their first iterable excepted)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def const_number(node: ast.AST) -> float | int | None:
    """The value of a numeric literal (``2``, ``-1.0``, ``+3``), else ``None``. Bools are not numbers."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return sign * node.value
    return None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The value of keyword argument ``name`` of ``call``, if it is given."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def in_first_iter(comp: ast.AST, path: list[ast.AST]) -> bool:
    """Is the path (child first, ``comp``'s direct child last) inside the first ``for``'s iterable?

    That iterable is evaluated in the enclosing scope, not in the comprehension's own.
    """
    first: ast.comprehension = comp.generators[0]  # type: ignore[attr-defined]
    return len(path) >= 2 and path[-1] is first and path[-2] is first.iter


def same_expr(a: object, b: object) -> bool:
    """Structurally equal expressions (positions and load/store context ignored).

    ``self.buf`` read and ``self.buf`` assigned are the same; ``x[i]`` and ``x[j]`` are not.
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, ast.AST):
        return all(same_expr(getattr(a, f, None), getattr(b, f, None)) for f in a._fields if f != "ctx")
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_expr(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def is_value(node: ast.AST) -> bool:
    """An expression evaluated for its value: not an assignment or ``del`` target, not ``*x`` itself."""
    return (isinstance(node, ast.expr) and not isinstance(getattr(node, "ctx", None), ast.Store | ast.Del)
            and not isinstance(node, ast.Starred))

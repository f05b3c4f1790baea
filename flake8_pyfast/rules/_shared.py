"""Small helpers several rules use. Not a rule module (the registry skips it)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flake8_pyfast.analysis import Analysis


def qualified(an: Analysis, call: ast.Call, module: str) -> str | None:
    """The function name if ``call`` calls ``module.<name>`` (``np.sqrt`` -> ``"sqrt"``)."""
    q = an.qualname(call.func)
    if q is None:
        return None
    mod, _, name = q.rpartition(".")
    return name if mod == module else None


def name_is(an: Analysis, at: ast.AST, name: str, qualname: str) -> bool:
    """Does ``name``, used at ``at``, mean ``qualname`` (or is it free, so we may bind it)?

    ``abs`` must still be the builtin, and ``math`` either unbound or ``import math``.
    """
    scope = an.scope_of(at).lookup(name)
    if scope is None:
        return qualname.startswith("builtins.") or "." not in qualname
    return all(b.how == "import" and b.qualname == qualname for b in scope.bindings[name])


def type_insensitive_use(an: Analysis, node: ast.expr) -> bool:
    """Is the value of ``node`` consumed where a NumPy scalar and a Python number act alike?

    Comparisons, ``if``/``while`` tests, ``not``, and arguments of ``float()``/``int()``/
    ``round()``/``bool()``/``math.*``/``numpy.*`` all give the same result for ``np.float64(x)``
    and ``float(x)``, and ``and``/``or`` in such a place; arithmetic does not (division by zero
    warns in one, raises in the other). A comparison yields ``np.bool_`` for one and ``bool`` for
    the other: alike except under ``~`` (``~np.True_`` is ``False``, ``~True`` is ``-2``), through
    attributes and methods (``.item()``, ``.astype``), and under ``is``.
    """
    parent = an.parent(node)
    if isinstance(parent, ast.Compare):
        if any(isinstance(op, ast.Is | ast.IsNot) for op in parent.ops):
            return False
        user = an.parent(parent)
        if isinstance(user, ast.UnaryOp) and isinstance(user.op, ast.Invert):
            return False
        if isinstance(user, ast.Compare) and any(isinstance(op, ast.Is | ast.IsNot) for op in user.ops):
            return False
        return not (isinstance(user, ast.Attribute | ast.Subscript) and user.value is parent)
    if isinstance(parent, ast.BoolOp):
        return type_insensitive_use(an, parent)
    if isinstance(parent, ast.If | ast.While | ast.IfExp | ast.Assert) and parent.test is node:
        return True
    if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
        return True
    if isinstance(parent, ast.Call) and node in parent.args:
        q = an.qualname(parent.func) or ""
        return q in ("builtins.float", "builtins.int", "builtins.round", "builtins.bool") or q.startswith(
            ("math.", "numpy.")
        )
    return False


def literal_args(call: ast.Call) -> bool:
    return all(isinstance(a, ast.Constant) for a in call.args)


def describe(q: str) -> str:
    """``numpy.linalg.norm`` -> ``np.linalg.norm`` for messages."""
    for long, short in (("numpy.", "np."), ("torch.nn.functional.", "F.")):
        if q.startswith(long):
            return short + q[len(long):]
    return q

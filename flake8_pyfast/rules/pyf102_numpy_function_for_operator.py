"""PYF102: a NumPy function where an operator is faster, in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from flake8_pyfast.analysis.astutil import const_number
from flake8_pyfast.analysis.kinds import FLOAT_DTYPES
from flake8_pyfast.model import Example, Finding, Fix, FixData
from flake8_pyfast.rule import FixContext, Rule, Speedup

if TYPE_CHECKING:
    import libcst as cst

    from flake8_pyfast.analysis import Analysis
    from flake8_pyfast.rule import FixResult


@dataclass(frozen=True)
class OperatorFix(FixData):
    """``op``: ``"power"`` (``np.power(x, 2)``), ``"pow_operator"`` (``x ** 2.0``), or the operator
    symbol that replaces a two-argument NumPy function."""

    op: str

_OPERATORS = {"multiply": "*", "add": "+", "subtract": "-", "divide": "/", "true_divide": "/"}


class NumpyFunctionForOperator(Rule):
    code = "PYF102"
    name = "numpy-function-for-operator"
    summary = "`np.power(x, 2)`, `x ** 2.0`, `np.multiply(a, b)` on arrays in hot code: use the operator"
    fixable = "sometimes"
    node_types = (ast.Call, ast.BinOp)
    harness_phase = "simulation"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "power": Speedup(1.58, 1.45, 1.66),
        "power_large": Speedup(2.26, 1.93, 2.51),
        "float_exponent": Speedup(1.57, 1.52, 1.61),
        "multiply": Speedup(1.14, 1.11, 1.18),
    }

    what = """
Finds, on NumPy arrays in code that runs every step: `np.power(x, 2)` and `np.power(x, 2.0)`;
`x ** 2.0` (a float exponent); and `np.multiply/add/subtract/divide(a, b)` called with exactly two
positional arguments and no keyword.
"""
    why = """
`x ** 2` takes NumPy's fast path for an integer power (a plain square); `np.power(x, 2)` and
`x ** 2.0` go through the generic power loop. Measured by `bench/pattern_speed.py`:

- `np.power(x, 2.0)` -> `x ** 2` on 8 elements: {speedup:power}; on 100k: {speedup:power_large}
- `x ** 2.0` -> `x ** 2` on 8 elements: {speedup:float_exponent}
- `np.multiply(a, b)` -> `a * b` on 8 elements: {speedup:multiply}

The operator only saves the Python-level function call, a fixed cost that large arrays do not
notice, so treat the `np.multiply`/`np.add`/... findings as tidying-up.
Exponents with no fast path (`np.power(x, 0.3)`) are left alone.
"""
    example = """
import numpy as np

for t in range(n_steps):
    action = np.asarray(policy(obs))
    cost = np.power(action, 2).sum() + np.multiply(w, action ** 2.0).sum()
"""
    use_instead = """
import numpy as np

for t in range(n_steps):
    action = np.asarray(policy(obs))
    cost = (action ** 2).sum() + (w * action ** 2).sum()
"""
    fix_safety = """
`np.power(x, 2)` -> `x ** 2` and `np.multiply(a, b)` -> `a * b` are **safe** once one operand is a
known `ndarray`: the operator dispatches to the same ufunc. `np.power(x, 2.0)` -> `x ** 2` and
`x ** 2.0` -> `x ** 2` are safe only for float arrays: on an integer array they turn a float64
result into an int64 one, so unless the dtype is known to be floating the fix is **unsafe**.
"""
    when_wrong = """
Only reported when an operand is known to be an `ndarray`; on a Python list `np.add(a, b)` adds
element-wise while `a + b` concatenates, so unknown operands stay silent.
"""

    bad = (
        Example(
            code="""\
import numpy as np


def step(self, action):
    a = np.asarray(action, dtype=np.float64)
    return np.power(a, 2).sum()  # energy
""",
            expect=((6, "PYF102"),),
            fixed="""\
import numpy as np


def step(self, action):
    a = np.asarray(action, dtype=np.float64)
    return (a ** 2).sum()  # energy
""",
            run="step",
            inputs=((None, [1.5, -2.0, 3.0]),),
            requires=("numpy",),
        ),
        Example(
            code="""\
import numpy as np

obs = np.zeros(8, dtype=np.float32)
for t in range(100):
    cost = obs ** 2.0 + np.multiply(obs, obs + 1)
""",
            expect=((5, "PYF102"), (5, "PYF102")),
            fixed="""\
import numpy as np

obs = np.zeros(8, dtype=np.float32)
for t in range(100):
    cost = obs ** 2 + obs * (obs + 1)
""",
        ),
        Example(
            note="integer array: a float exponent changes the dtype, so the fix is unsafe",
            code="""\
import numpy as np

counts = np.arange(10)
for t in range(100):
    sq = np.power(counts, 2.0)
""",
            expect=((5, "PYF102"),),
            fixed="""\
import numpy as np

counts = np.arange(10)
for t in range(100):
    sq = counts ** 2
""",
            unsafe=True,
        ),
    )
    good = (
        Example(
            note="exponents without a fast path, and keyword arguments",
            code="""\
import numpy as np

x = np.ones(4)
for t in range(100):
    a = np.power(x, 0.3)
    b = np.multiply(x, x, out=x)
    c = np.add(x, 1.0, dtype=np.float32)
""",
        ),
        Example(
            note="unknown operands may be lists, where `+` concatenates",
            code="""\
import numpy as np


def step(self, a, b):
    return np.add(a, b), np.power(a, 2)
""",
        ),
        Example(
            note="cold code, and integer exponents already",
            code="""\
import numpy as np

x = np.ones(4)
y = np.power(x, 2)
for t in range(3):
    z = x ** 2
""",
        ),
        Example(
            note="tensors are not NumPy arrays",
            code="""\
import numpy as np
import torch

t = torch.ones(3)
for i in range(10):
    u = t ** 2.0
""",
        ),
    )

    def check(self, node: ast.AST, an: Analysis) -> Iterator[Finding]:
        if isinstance(node, ast.BinOp):
            yield from self._check_pow_operator(node, an)
            return
        assert isinstance(node, ast.Call)
        q = an.qualname(node.func)
        if q is None or not q.startswith("numpy.") or node.keywords or len(node.args) != 2:
            return
        name = q[len("numpy."):]
        if name != "power" and name not in _OPERATORS:
            return
        if any(isinstance(a, ast.Starred) for a in node.args):
            return
        left, right = (an.kind(a) for a in node.args)
        if name == "power":
            exp = const_number(node.args[1])
            if exp not in (2, 2.0) or not left.is_ndarray:
                return
            heat = an.heat(node)
            if heat is None:
                return
            unsafe = isinstance(exp, float) and left.dtype not in FLOAT_DTYPES
            fix = Fix(safe=not unsafe, data=OperatorFix("power"),
                      reason="an integer array would get an integer result" if unsafe else "")
            gain = self.speedups["power"].claim
            yield self.report(node, f"`np.power(x, {exp})` on an array {heat}: `x ** 2` is {gain}", fix)
            return
        if not (left.is_ndarray or right.is_ndarray) or left.is_tensor or right.is_tensor:
            return
        heat = an.heat(node)
        if heat is None:
            return
        sym = _OPERATORS[name]
        yield self.report(
            node,
            f"`np.{name}(a, b)` on arrays {heat}: `a {sym} b` skips a function call "
            f"({self.speedups['multiply'].claim} on small arrays)",
            Fix(safe=True, data=OperatorFix(sym)),
        )

    def _check_pow_operator(self, node: ast.BinOp, an: Analysis) -> Iterator[Finding]:
        if not isinstance(node.op, ast.Pow):
            return
        exp = const_number(node.right)
        if not isinstance(exp, float) or exp != 2.0:
            return
        base = an.kind(node.left)
        if not base.is_ndarray:
            return
        heat = an.heat(node)
        if heat is None:
            return
        unsafe = base.dtype not in FLOAT_DTYPES
        fix = Fix(safe=not unsafe, data=OperatorFix("pow_operator"),
                  reason="an integer array would get an integer result" if unsafe else "")
        gain = self.speedups["float_exponent"].claim
        yield self.report(node, f"`x ** 2.0` on an array {heat}: `x ** 2` is {gain}", fix)

    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        assert isinstance(fix.data, OperatorFix)
        op = fix.data.op
        if op == "pow_operator":
            return node.with_changes(right=ctx.cst.Integer("2"))
        x, y = (ctx.atom(a.value) for a in cast("cst.Call", node).args)
        if op == "power":
            return ctx.expr("{x} ** 2", x=x)
        return ctx.expr(f"{{x}} {op} {{y}}", x=x, y=y)

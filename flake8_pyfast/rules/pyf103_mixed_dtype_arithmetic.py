"""PYF103: float arrays mixed with bool masks (or float32 with float64) in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.heat import compile_patterns
from flake8_pyfast.analysis.kinds import FLOAT_DTYPES
from flake8_pyfast.model import Example, Finding
from flake8_pyfast.rule import Rule, Speedup

if TYPE_CHECKING:
    from flake8_pyfast.analysis import Analysis

_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div)


class MixedDtypeArithmetic(Rule):
    code = "PYF103"
    name = "mixed-dtype-arithmetic"
    summary = "Float array x bool mask (or float32 x float64) in hot code: cast once, outside the loop"
    node_types = (ast.BinOp,)
    harness_phase = "simulation"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "mask": Speedup(1.77, 1.71, 1.88),
        "where": Speedup(0.318, 0.295, 0.349),
    }

    what = """
Finds arithmetic (`+ - * /`) in code that runs every step between a float array or tensor and a
boolean mask that does not change inside the loop (built before it, or kept in an attribute), and
between a float32 and a float64 array when both dtypes are known.
"""
    why = """
Every mixed operation first converts the mask (or the narrower array) to the other dtype in a
temporary, then computes. When the mask is loop-invariant that conversion is repeated work.
Measured by `bench/pattern_speed.py` on a float32 array of 4096: multiplying by a precomputed
float mask instead of the bool mask, {speedup:mask}. `np.where(mask, x, 0)` is *not* the answer:
instead of the bool mask it measured {speedup:where}. float32 x float64 silently
upcasts the whole result to float64, doubling memory traffic from then on.
"""
    example = """
import numpy as np

alive = np.asarray(joint_limits) > 0  # bool mask, fixed for the episode
for t in range(horizon):
    action = np.asarray(policy(obs), dtype=np.float32)
    torques = action * alive          # converts the mask every step
"""
    use_instead = """
import numpy as np

alive = (np.asarray(joint_limits) > 0).astype(np.float32)  # cast once
for t in range(horizon):
    action = np.asarray(policy(obs), dtype=np.float32)
    torques = action * alive
"""
    fix_safety = "No automatic fix: where the cast belongs (before the loop, in `__init__`) is a design choice."
    when_wrong = """
If the mask is recomputed every step (`x * (obs > 0)` inside the loop), casting it costs as much
as the mixed operation, so pyfast stays silent there. `bool x bool` is not mixed.
"""

    bad = (
        Example(
            code="""\
import numpy as np

limits = np.linspace(-1.0, 1.0, 7)
alive = limits > 0
actions = np.zeros((100, 7))
for t in range(100):
    torques = actions[t] * alive
""",
            expect=((7, "PYF103"),),
        ),
        Example(
            note="a mask kept in an attribute, used in a per-step method",
            code="""\
import torch


class Env:
    def __init__(self):
        self.valid = torch.ones(7, dtype=torch.bool)
        self.gains = torch.zeros(7)

    def step(self, action):
        return self.gains * self.valid
""",
            expect=((10, "PYF103"),),
        ),
        Example(
            note="float32 mixed with float64",
            code="""\
import numpy as np

w = np.ones(16)
for t in range(100):
    obs = np.zeros(16, dtype=np.float32)
    y = obs * w
""",
            expect=((6, "PYF103"),),
        ),
    )
    good = (
        Example(
            note="the mask changes every step: casting it would cost the same",
            code="""\
import numpy as np

x = np.zeros(10)
for t in range(100):
    m = x > 0.5
    y = x * m
    z = x * (x < 0.1)
""",
        ),
        Example(
            note="bool with bool, and a float mask cast once",
            code="""\
import numpy as np

a = np.zeros(10) > 0
b = np.ones(10) > 0
fm = b.astype(np.float64)
x = np.zeros(10)
for t in range(100):
    both = a * b
    y = x * fm
""",
        ),
        Example(
            note="unknown dtypes stay silent",
            code="""\
import numpy as np


def step(self, obs, mask):
    return obs * mask
""",
        ),
    )

    def check(self, node: ast.BinOp, an: Analysis) -> Iterator[Finding]:
        if not isinstance(node.op, _ARITH) or an.is_synthetic(node):
            return
        left, right = an.kind(node.left), an.kind(node.right)
        if not (left.is_array and right.is_array and left.base == right.base):
            return
        message = None
        for arr, mask, mask_node in ((left, right, node.right), (right, left, node.left)):
            if mask.is_bool_mask and arr.dtype is not None and arr.dtype != "bool":
                heat = an.heat(node)
                if heat is None or not self._invariant(an, mask_node, node):
                    return
                what = "tensor" if arr.is_tensor else "array"
                message = (
                    f"{arr.dtype} {what} combined with a loop-invariant bool mask {heat}: the mask is "
                    f"converted every time; cast it to {arr.dtype} once ({self.speedups['mask'].claim}; "
                    f"np.where is {self.speedups['where'].claim})"
                )
                break
        else:
            if (
                left.dtype in FLOAT_DTYPES
                and right.dtype in FLOAT_DTYPES
                and left.dtype != right.dtype
                and "bfloat16" not in (left.dtype, right.dtype)
            ):
                heat = an.heat(node)
                if heat is None:
                    return
                message = (
                    f"{left.dtype} combined with {right.dtype} {heat}: the result is upcast and "
                    "converted every time; keep both operands in one dtype"
                )
        if message:
            yield self.report(node, message)

    def _invariant(self, an: Analysis, expr: ast.expr, at: ast.AST) -> bool:
        """Is ``expr`` the same at every execution of ``at`` (so it could be cast once)?"""
        loops = an.loops_of(at)
        if isinstance(expr, ast.Name):
            bindings = an.bindings_of(expr)
            if not bindings:
                return False
            if not loops:
                # hot because of the function it is in: only values from outside the function count
                return all(b.scope is not an.scope_of(expr).function_scope() for b in bindings)
            loop = loops[-1]
            return all(loop not in b.loops for b in bindings) and all(
                b.scope is not an.scope_of(expr) or b.pos < (loop.lineno, loop.col_offset)  # type: ignore[attr-defined]
                for b in bindings
            )
        if isinstance(expr, ast.Attribute) and an.is_self(expr.value):
            cls = an.class_of(expr)
            if cls is None:
                return False
            bindings = cls.attrs.get(expr.attr, [])
            cold = compile_patterns(an.settings.cold_functions)
            return bool(bindings) and all(
                b.scope.function_scope().kind == "function" and cold.match(b.scope.function_scope().name)
                for b in bindings
            )
        if isinstance(expr, ast.UnaryOp):
            return self._invariant(an, expr.operand, at)
        return False

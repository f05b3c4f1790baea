"""PYF201: an array or tensor built from a Python sequence in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.kinds import NDARRAY, TENSOR
from flake8_pyfast.analysis.knowledge import CONVERTERS
from flake8_pyfast.model import Example, Finding
from flake8_pyfast.rule import Rule, Speedup
from flake8_pyfast.rules._shared import describe

if TYPE_CHECKING:
    from flake8_pyfast.analysis import Analysis


def _constant_display(node: ast.expr) -> bool:
    if isinstance(node, ast.List | ast.Tuple):
        return all(_constant_display(e) for e in node.elts)
    return isinstance(node, ast.Constant) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)
    )


def _under_is_none_guard(an: Analysis, node: ast.AST) -> bool:
    """Inside ``if x is None:`` (a cache filled once)?"""
    n = an.parent(node)
    while n is not None and not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
        if isinstance(n, ast.If):
            t = n.test
            if (
                isinstance(t, ast.Compare)
                and len(t.ops) == 1
                and isinstance(t.ops[0], ast.Is)
                and isinstance(t.comparators[0], ast.Constant)
                and t.comparators[0].value is None
            ):
                return True
        n = an.parent(n)
    return False


class ArrayFromSequence(Rule):
    code = "PYF201"
    name = "array-from-sequence-in-loop"
    summary = "`np.array([...])` / `torch.tensor([...])` built every step: preallocate and write in place"
    node_types = (ast.Call,)
    harness_phase = "simulation"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "prealloc": Speedup(1.17, 1.08, 1.24),
        "reuse": Speedup(2.06, 1.98, 2.14),
    }

    what = """
Finds `np.array`, `np.asarray`, `torch.tensor`, `torch.as_tensor` and the legacy
`torch.Tensor`/`torch.FloatTensor`/... built from a Python sequence (a list or tuple display, a
comprehension, a generator, or a name holding a list/tuple) in code that runs every step.
"""
    why = """
Converting a Python sequence walks it item by item, infers a dtype and shape, and allocates a
new array every step. For the small observation vectors of RL code that overhead dominates.
Measured by `bench/pattern_speed.py` for four attributes into a float32 buffer allocated once:
{speedup:reuse} when the buffer itself is returned, {speedup:prealloc} when a copy of it is
(a fresh small array costs nearly as much as the conversion saved).
`torch.tensor` of a list of arrays is slower still (PyTorch warns about it).
"""
    example = """
import numpy as np


class Env:
    def _get_obs(self):
        return np.array([self.x, self.y, self.vx, self.vy], dtype=np.float32)
"""
    use_instead = """
import numpy as np


class Env:
    def __init__(self):
        self._obs = np.empty(4, dtype=np.float32)

    def _get_obs(self):
        obs = self._obs
        obs[0], obs[1], obs[2], obs[3] = self.x, self.y, self.vx, self.vy
        return obs.copy()  # or return obs if the caller does not keep it
"""
    fix_safety = "No automatic fix: a reused buffer is shared state, and only you know who keeps the result."
    when_wrong = """
Silent when the argument is already an array or tensor, when the result goes straight into a
preallocated buffer (`buf[i] = np.array(...)`), and when it is computed once under an
`if cache is None:` guard. A constant array (`np.array([0.0, 0.0, 1.0])`) in a loop is reported
with the advice to build it once.
"""

    bad = (
        Example(
            code="""\
import numpy as np


class Env:
    def _get_obs(self):
        return np.array([self.x, self.y, self.vx, self.vy], dtype=np.float32)
""",
            expect=((6, "PYF201"),),
        ),
        Example(
            code="""\
import torch

for t in range(100):
    batch = torch.tensor([s.reward for s in samples])
    goal = torch.tensor((0.0, 0.0, 1.0))
""",
            expect=((4, "PYF201"), (5, "PYF201")),
        ),
        Example(
            note="a name that holds a list",
            code="""\
import numpy as np


def step(self, action):
    parts = [action, self.prev_action]
    return np.asarray(parts)
""",
            expect=((6, "PYF201"),),
        ),
    )
    good = (
        Example(
            note="already an array, into a buffer, cached, or cold",
            code="""\
import numpy as np

buf = np.zeros((100, 3))
cache = None
base = np.array([1.0, 2.0, 3.0])
for t in range(100):
    a = np.asarray(base)
    buf[t] = np.array([t, t + 1, t + 2])
    if cache is None:
        cache = np.array([1.0, 2.0])
""",
        ),
        Example(
            note="unknown argument: it may already be an array",
            code="""\
import numpy as np


def step(self, action):
    return np.asarray(action, dtype=np.float32)
""",
        ),
    )

    def check(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        if not node.args or isinstance(node.args[0], ast.Starred):
            return
        q = an.qualname(node.func)
        if q not in CONVERTERS:
            return
        arg = node.args[0]
        if isinstance(arg, ast.List | ast.Tuple | ast.ListComp | ast.GeneratorExp):
            pass
        else:
            k = an.kind(arg)
            if not k.is_sequence or k.base in (NDARRAY, TENSOR):
                return
        parent = an.parent(node)
        if isinstance(parent, ast.Assign) and all(isinstance(t, ast.Subscript) for t in parent.targets):
            return
        heat = an.heat(node)
        if heat is None or _under_is_none_guard(an, node):
            return
        what = "a tensor" if q.startswith("torch") else "an array"
        if _constant_display(arg):
            msg = f"`{describe(q)}()` of a constant {heat} builds {what} every time: build it once, outside"
        else:
            msg = (
                f"`{describe(q)}()` of a Python sequence {heat} allocates {what} every time: "
                f"preallocate a buffer once and write into it ({self.speedups['reuse'].claim} reusing it, "
                f"{self.speedups['prealloc'].claim} returning a copy)"
            )
        yield self.report(node, msg)

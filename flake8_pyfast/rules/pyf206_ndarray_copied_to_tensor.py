"""PYF206: a NumPy array copied into a tensor in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.astutil import keyword
from flake8_pyfast.locator import Locator, follow
from flake8_pyfast.model import Example, Finding, Fix, FixData
from flake8_pyfast.rule import FixContext, Rule, Speedup
from flake8_pyfast.rules._shared import describe

if TYPE_CHECKING:
    import libcst as cst

    from flake8_pyfast.analysis import Analysis
    from flake8_pyfast.rule import FixResult


@dataclass(frozen=True)
class FromNumpyFix(FixData):
    """Locators from the constructor call: ``prefix`` (the ``torch``/``th`` of ``torch.tensor``),
    ``array`` (its argument) and ``dtype`` (its ``dtype=`` value, if any); ``cast``: the method a
    legacy constructor's dtype needs (``float`` for ``torch.FloatTensor``)."""

    prefix: Locator
    array: Locator
    cast: str | None = None
    dtype: Locator | None = None

_CONSTRUCTORS = {"torch.tensor": None, "torch.Tensor": "float", "torch.FloatTensor": "float",
                 "torch.DoubleTensor": "double", "torch.LongTensor": "long"}


class NdarrayCopiedToTensor(Rule):
    code = "PYF206"
    name = "ndarray-copied-to-tensor"
    summary = "`torch.tensor(ndarray)` in hot code: `torch.from_numpy()` shares the memory"
    fixable = "unsafe"
    node_types = (ast.Call,)
    harness_phase = "update"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "small": Speedup(5.62, 5.48, 5.86),
        "large": Speedup(20.7, 19.2, 22.2),
        "legacy": Speedup(6.54, 6.04, 6.85),
    }

    what = """
Finds `torch.tensor(a)`, `torch.Tensor(a)` and `torch.FloatTensor(a)` where `a` is known to be
a NumPy array, in code that runs every step. With `device=` the copy is needed anyway, so that
form is left alone; so is `torch.tensor(a, dtype=...)` unless `a` is known to have that dtype
already (a float64 array made float32 must be copied: nothing can share its memory).
"""
    why = """
`torch.tensor` always copies, and the legacy constructors go through a slow generic path that
inspects the array. `torch.from_numpy` wraps the same memory in O(1). Measured by
`bench/pattern_speed.py`: `torch.tensor(obs)` -> `torch.from_numpy(obs)` for a float32
observation of 8, {speedup:small}; for 100k floats, {speedup:large}; `torch.FloatTensor(obs)` ->
`torch.from_numpy(obs).float()`, {speedup:legacy}.
"""
    example = """
import numpy as np
import torch

for t in range(num_steps):
    obs, action = np.asarray(obs), np.asarray(action)
    obs_t = torch.tensor(obs)
    act_t = torch.FloatTensor(action)
"""
    use_instead = """
import numpy as np
import torch

for t in range(num_steps):
    obs, action = np.asarray(obs), np.asarray(action)
    obs_t = torch.from_numpy(obs)
    act_t = torch.from_numpy(action).float()
"""
    fix_safety = """
Always **unsafe**: the tensor and the array share memory afterwards, so writing to one changes the
other (an observation buffer reused by the environment would change the tensor you stored). It
also fails for arrays with negative strides (`a[::-1]`) and warns for read-only arrays.
"""
    when_wrong = """
Silent for `torch.tensor(a, dtype=torch.float32)` when `a` is float64 or of unknown dtype: the
cast copies either way, so there is no memory to share and next to nothing to gain.
When `a` is written to after the conversion (a buffer the environment reuses every step), the copy
is needed; keep it and add `# noqa: PYF206`. `torch.tensor(a).to(device)` is reported as PYF205
instead (create on the device directly).
"""

    bad = (
        Example(
            code="""\
import numpy as np
import torch


def act(self, obs):
    obs = np.asarray(obs, dtype=np.float32)
    return self.policy(torch.tensor(obs))
""",
            expect=((7, "PYF206"),),
            fixed="""\
import numpy as np
import torch


def act(self, obs):
    obs = np.asarray(obs, dtype=np.float32)
    return self.policy(torch.from_numpy(obs))
""",
            unsafe=True,
        ),
        Example(
            code="""\
import numpy as np
import torch

frames = np.zeros((100, 84, 84), dtype=np.float32)
for t in range(100):
    x = torch.FloatTensor(frames[t])
    y = torch.tensor(frames[t], dtype=torch.float32)
""",
            expect=((6, "PYF206"), (7, "PYF206")),
            fixed="""\
import numpy as np
import torch

frames = np.zeros((100, 84, 84), dtype=np.float32)
for t in range(100):
    x = torch.from_numpy(frames[t]).float()
    y = torch.from_numpy(frames[t]).to(torch.float32)
""",
            unsafe=True,
        ),
    )
    good = (
        Example(
            note="lists, unknown kinds, cold code, requires_grad",
            code="""\
import numpy as np
import torch

w = torch.tensor(np.zeros(3))
for t in range(10):
    a = torch.tensor([1.0, 2.0])
    b = torch.tensor(obs)
    c = torch.tensor(np.zeros(3), requires_grad=True)
    d = torch.tensor(np.zeros(3), dtype=torch.float32, device="cuda")
""",
            expect=((6, "PYF201"),),  # the list is PYF201's business, not this rule's
        ),
        Example(
            note="a cast to another dtype must copy: float64 (or unknown) arrays made float32",
            code="""\
import numpy as np
import torch


class Agent:
    def act(self, obs, goal):
        obs = np.clip((obs - self.mean) / self.std, -5.0, 5.0)
        inputs = np.concatenate([obs, np.asarray(goal)])
        x = torch.tensor(inputs, dtype=torch.float32)
        g = torch.tensor(np.asarray(goal), dtype=torch.float32)
        h = torch.tensor(np.zeros(4), dtype=torch.float32)
        return self.actor(x, g, h)
""",
        ),
    )

    def check(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        q = an.qualname(node.func)
        if q not in _CONSTRUCTORS or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            return
        if any(kw.arg != "dtype" for kw in node.keywords):
            return  # device=: the copy to the device is needed anyway (PYF205 covers create-then-move)
        if q != "torch.tensor" and node.keywords:
            return
        kind = an.kind(node.args[0])
        if not kind.is_ndarray:
            return
        target = keyword(node, "dtype")
        if target is not None and (kind.dtype is None or kind.dtype != an.dtype_of(target)):
            # a cast (float64 -> float32): the copy is needed, `from_numpy` cannot share the memory,
            # and `from_numpy(a).to(dtype)` saves next to nothing; with the dtype unknown, it may be one
            return
        heat = an.heat(node)
        if heat is None:
            return
        func = node.func
        fix = None
        if isinstance(func, ast.Attribute):
            dtype: Locator | None = ("kw", "dtype") if keyword(node, "dtype") is not None else None
            fix = Fix(safe=False, data=FromNumpyFix(("func", "value"), ("args", 0), _CONSTRUCTORS[q], dtype),
                      reason="the tensor shares the array's memory (where no cast is needed)")
        cast = _CONSTRUCTORS[q]
        if cast is None:
            message = (f"`{describe(q)}(ndarray)` copies the array {heat}: `torch.from_numpy()` shares its memory "
                       f"({self.speedups['small'].claim} for a small observation)")
        else:
            # the legacy constructor casts: the memory is shared only when the array has that dtype already;
            # the gain is leaving the constructor's slow generic path
            message = (f"`{describe(q)}(ndarray)` goes through the legacy constructor's slow generic path {heat}: "
                       f"`torch.from_numpy(a).{cast}()` gives the same tensor ({self.speedups['legacy'].claim}; "
                       f"it shares the array's memory only when the dtype already matches)")
        yield self.report(node, message, fix)

    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        data = fix.data
        assert isinstance(data, FromNumpyFix)
        out = ctx.expr("{p}.from_numpy({a})", p=follow(node, data.prefix), a=follow(node, data.array))
        if data.cast:
            out = ctx.expr(f"{{x}}.{data.cast}()", x=out)
        if data.dtype is not None:
            out = ctx.expr("{x}.to({v})", x=out, v=follow(node, data.dtype))
        return out

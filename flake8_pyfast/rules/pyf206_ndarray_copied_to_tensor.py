"""PYF206: a NumPy array copied into a tensor in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flake8_pyfast.analysis.core import keyword
from flake8_pyfast.model import Example, Finding, Fix
from flake8_pyfast.rule import FixContext, Rule
from flake8_pyfast.rules._shared import describe

if TYPE_CHECKING:
    from flake8_pyfast.analysis import Analysis

_CONSTRUCTORS = {"torch.tensor": None, "torch.Tensor": "float", "torch.FloatTensor": "float",
                 "torch.DoubleTensor": "double", "torch.LongTensor": "long"}


class NdarrayCopiedToTensor(Rule):
    code = "PYF206"
    name = "ndarray-copied-to-tensor"
    summary = "`torch.tensor(ndarray)` in hot code: `torch.from_numpy()` shares the memory"
    fixable = "unsafe"
    node_types = (ast.Call,)

    what = """
Finds `torch.tensor(a)`, `torch.Tensor(a)` and `torch.FloatTensor(a)` where `a` is known to be
a NumPy array, in code that runs every step. With `device=` the copy is needed anyway, so that
form is left alone.
"""
    why = """
`torch.tensor` always copies, and the legacy constructors go through a slow generic path that
inspects the array. `torch.from_numpy` wraps the same memory in O(1). Measured on a 2-core CPU:
1.5x for large arrays up to 29x for the small observation vectors of RL code.
"""
    example = """
for t in range(num_steps):
    obs_t = torch.tensor(obs)
    act_t = torch.FloatTensor(action)
"""
    use_instead = """
for t in range(num_steps):
    obs_t = torch.from_numpy(obs)
    act_t = torch.from_numpy(action).float()
"""
    fix_safety = """
Always **unsafe**: the tensor and the array share memory afterwards, so writing to one changes the
other (an observation buffer reused by the environment would change the tensor you stored). It
also fails for arrays with negative strides (`a[::-1]`) and warns for read-only arrays.
"""
    when_wrong = """
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

frames = np.zeros((100, 84, 84))
for t in range(100):
    x = torch.FloatTensor(frames[t])
    y = torch.tensor(frames[t], dtype=torch.float32)
""",
            expect=((6, "PYF206"), (7, "PYF206")),
            fixed="""\
import numpy as np
import torch

frames = np.zeros((100, 84, 84))
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
    )

    def check(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        q = an.qualname(node.func)
        if q not in _CONSTRUCTORS or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            return
        if any(kw.arg != "dtype" for kw in node.keywords):
            return  # device=: the copy to the device is needed anyway (PYF205 covers create-then-move)
        if q != "torch.tensor" and node.keywords:
            return
        if not an.kind(node.args[0]).is_ndarray:
            return
        heat = an.heat(node)
        if heat is None:
            return
        func = node.func
        prefix = ast.unparse(func.value) if isinstance(func, ast.Attribute) else None
        fix = None
        if prefix is not None:
            fix = Fix(safe=False, data={"prefix": prefix, "cast": _CONSTRUCTORS[q],
                                        "dtype": keyword(node, "dtype") is not None},
                      reason="the tensor shares the array's memory")
        yield self.report(
            node,
            f"`{describe(q)}(ndarray)` copies the array {heat}: `torch.from_numpy()` shares its memory "
            "(1.5-29x)",
            fix,
        )

    def fix(self, node: Any, fix: Fix, ctx: FixContext, anchor: str = "main") -> Any:
        data = fix.data
        out = ctx.expr(f"{data['prefix']}.from_numpy({{a}})", a=node.args[0].value)
        if data["cast"]:
            out = ctx.expr(f"{{x}}.{data['cast']}()", x=out)
        if data["dtype"]:
            dtype = next(a.value for a in node.args if a.keyword is not None and a.keyword.value == "dtype")
            out = ctx.expr("{x}.to({v})", x=out, v=dtype)
        return out

"""PYF101: NumPy math on a Python scalar in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from flake8_pyfast.analysis.astutil import const_number
from flake8_pyfast.analysis.kinds import Kind
from flake8_pyfast.model import Example, Finding, Fix, FixData
from flake8_pyfast.rule import FixContext, Rule, Speedup
from flake8_pyfast.rules._shared import name_is, type_insensitive_use

if TYPE_CHECKING:
    import libcst as cst

    from flake8_pyfast.analysis import Analysis
    from flake8_pyfast.rule import FixResult


@dataclass(frozen=True)
class MathFix(FixData):
    """``op``: the NumPy function (or ``"norm"``); ``replacement``: the function that replaces it;
    for ``clip``, which bounds are there (``None`` bounds are left out)."""

    op: str
    replacement: str = ""
    has_lo: bool = True
    has_hi: bool = True

# numpy name -> (replacement, arity, exact result, can raise where NumPy returns nan/inf)
_MATH: dict[str, tuple[str, int, bool, bool]] = {
    "sqrt": ("math.sqrt", 1, True, True),
    "exp": ("math.exp", 1, False, True),
    "log": ("math.log", 1, False, True),
    "log1p": ("math.log1p", 1, False, True),
    "sin": ("math.sin", 1, False, True),
    "cos": ("math.cos", 1, False, True),
    "tan": ("math.tan", 1, False, True),
    "arctan2": ("math.atan2", 2, False, False),
    "tanh": ("math.tanh", 1, False, False),
    "floor": ("math.floor", 1, False, True),  # returns an int; raises on nan/inf
    "ceil": ("math.ceil", 1, False, True),
    "abs": ("abs", 1, True, False),
    "absolute": ("abs", 1, True, False),
    "fabs": ("math.fabs", 1, True, False),
    "hypot": ("math.hypot", 2, False, False),
    "degrees": ("math.degrees", 1, True, False),
    "radians": ("math.radians", 1, True, False),
    "isnan": ("math.isnan", 1, True, True),  # math.isnan(10**400) raises OverflowError
    "isinf": ("math.isinf", 1, True, True),
    "isfinite": ("math.isfinite", 1, True, True),
    "copysign": ("math.copysign", 2, True, False),
    "maximum": ("max", 2, False, False),  # NaN order differs: max(1, nan) is 1
    "minimum": ("min", 2, False, False),
    "clip": ("clip", 3, True, False),
    "power": ("power", 2, False, True),  # int ** negative int, negative ** fraction
}


def _is_float(k: Kind) -> bool:
    return k.dtype in ("float", "np.float64")


class NumpyMathOnScalar(Rule):
    code = "PYF101"
    name = "numpy-math-on-scalar"
    summary = "NumPy math on a Python scalar in hot code: use `math` / builtins"
    fixable = "sometimes"
    node_types = (ast.Call,)
    harness_phase = "simulation"  # the reward helper runs inside env.step
    equivalence = ("exact", "tolerance")  # math.hypot rounds differently from np.linalg.norm
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "sqrt": Speedup(4.62, 4.24, 4.99),
        "exp": Speedup(4.33, 3.92, 4.86),
        "abs": Speedup(7.39, 6.9, 7.82),
        "clip": Speedup(15.7, 14.6, 17.9),
        "norm": Speedup(34.9, 32.4, 38.9),
    }

    what = """
Finds calls such as `np.sqrt(x)`, `np.clip(r, -1, 1)`, `np.abs(dx)` or
`np.linalg.norm([dx, dy, dz])` whose arguments are Python scalars (literals, `float()`,
`.item()`, `len()`, `math.*`, elements of a PyBullet getter's tuple, or arithmetic of those), in
code that runs every step.
"""
    why = """
A NumPy ufunc call on a scalar converts the number to a 0-d array, dispatches, and boxes the
result back into a NumPy scalar. `math.sqrt` and the builtins skip all of that. Measured by
`bench/pattern_speed.py` on a float:

- `np.sqrt(x)` -> `math.sqrt(x)`: {speedup:sqrt}
- `np.exp(x)` -> `math.exp(x)`: {speedup:exp}
- `np.abs(x)` -> `abs(x)`: {speedup:abs}
- `np.clip(x, -1.0, 1.0)` -> `min(max(x, -1.0), 1.0)`: {speedup:clip}
- `np.linalg.norm([dx, dy, dz])` -> `math.hypot(dx, dy, dz)`: {speedup:norm}

In a reward function called a million times this is seconds per run.
"""
    example = """
import numpy as np
import pybullet as p

gx, gy, gz = 0.5, 0.0, 0.2
for t in range(horizon):
    x, y, z = p.getBasePositionAndOrientation(robot)[0]
    dist = np.linalg.norm([x - gx, y - gy, z - gz])
    reward = np.clip(float(-dist), -1.0, 1.0)
"""
    use_instead = """
import math
import pybullet as p

gx, gy, gz = 0.5, 0.0, 0.2
for t in range(horizon):
    x, y, z = p.getBasePositionAndOrientation(robot)[0]
    dist = math.hypot(x - gx, y - gy, z - gz)
    reward = min(max(float(-dist), -1.0), 1.0)
"""
    fix_safety = """
The fix is **safe** only when the result is the same for every input and the result type cannot
matter: the function is exact (`sqrt`, `abs`, `fabs`, `copysign`, `degrees`, `radians`,
`isnan`/`isinf`/`isfinite` on floats, `clip` with literal bounds), it cannot raise where NumPy
returned `nan` (`math.sqrt(-1.0)` raises, `np.sqrt(-1.0)` is `nan`), and the value is consumed
where a NumPy scalar and a Python float behave alike (a comparison, an `if` test, `float()`,
`int()`, `math.*`, `np.*`). Everywhere else it is **unsafe**: `math.exp`, `math.sin`, `math.tanh`
... may differ from NumPy in the last bit; `math.floor` returns an `int`; `max`/`min` treat NaN
differently from `np.maximum`; `x ** y` differs from `np.power` for negative integer exponents;
and `np.float64` arithmetic warns where `float` raises `ZeroDivisionError`. No fix is offered
where `math`, `abs`, `min` or `max` is shadowed by another binding.
"""
    when_wrong = """
If the "scalar" is really a NumPy array (e.g. a name annotated `float` that receives arrays), the
`math` version raises `TypeError`. pyfast only reports when every argument is known to be a
scalar, and stays silent in cold code (`layer_init(std=np.sqrt(2))` at module level is fine).
"""

    bad = (
        Example(
            code="""\
import numpy as np


def step(self, action):
    ratio = float(action[0])
    if np.abs(ratio) < 0.01:
        return 0.0
    return ratio
""",
            expect=((6, "PYF101"),),
            fixed="""\
def step(self, action):
    ratio = float(action[0])
    if abs(ratio) < 0.01:
        return 0.0
    return ratio
""",
            run="step",
            inputs=((None, [0.005]), (None, [-3.0]), (None, [float("nan")])),
        ),
        Example(
            code="""\
import numpy as np


def rewards(dists):
    out = []
    for d in dists:
        d = float(d)
        out.append(float(np.clip(d, -1.0, 1.0)) * 2.0)  # keep
    return out
""",
            expect=((8, "PYF101"),),
            fixed="""\
def rewards(dists):
    out = []
    for d in dists:
        d = float(d)
        out.append(float(min(max(d, -1.0), 1.0)) * 2.0)  # keep
    return out
""",
            run="rewards",
            inputs=(([0.5, -2.0, 7.0, float("nan"), -0.0],),),
        ),
        Example(
            note="norm of a 3-list of scalars from a pybullet getter; math is imported for it",
            code="""\
import numpy as np
import pybullet as p


def compute_reward(self, gx: float):
    x, y, z = p.getBasePositionAndOrientation(self.robot)[0]
    return -np.linalg.norm([x - gx, y, z])
""",
            expect=((7, "PYF101"),),
            fixed="""\
import math

import pybullet as p


def compute_reward(self, gx: float):
    x, y, z = p.getBasePositionAndOrientation(self.robot)[0]
    return -math.hypot(x - gx, y, z)
""",
            unsafe=True,
        ),
        Example(
            note="unsafe: the result feeds arithmetic, and sqrt of a negative raises in math",
            code="""\
import numpy as np

for step in range(1000):
    speed = np.sqrt(vx.item() ** 2 + vy.item() ** 2) * dt
""",
            expect=((4, "PYF101"),),
            fixed="""\
import math

for step in range(1000):
    speed = math.sqrt(vx.item() ** 2 + vy.item() ** 2) * dt
""",
            unsafe=True,
        ),
        Example(
            note="scalars through tuple unpacking and a class-wide attribute",
            code="""\
import numpy as np


class Walker:
    def __init__(self):
        self.target_theta = 0.0

    def calc_state(self, yaw):
        self.target_theta = float(yaw) * 2.0
        r, p, yaw2 = 0.0, 0.0, float(yaw)
        return np.sin(self.target_theta - yaw2), np.cos(r + p)
""",
            expect=((11, "PYF101"), (11, "PYF101")),
            fixed="""\
import math


class Walker:
    def __init__(self):
        self.target_theta = 0.0

    def calc_state(self, yaw):
        self.target_theta = float(yaw) * 2.0
        r, p, yaw2 = 0.0, 0.0, float(yaw)
        return math.sin(self.target_theta - yaw2), math.cos(r + p)
""",
            unsafe=True,
        ),
    )
    good = (
        Example(
            note="cold code: a default argument evaluated once",
            code="""\
import numpy as np
import torch.nn as nn


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    nn.init.orthogonal_(layer.weight, std)
    return layer
""",
        ),
        Example(
            note="arrays, not scalars",
            code="""\
import numpy as np


def step(self, action):
    action = np.clip(action, -1.0, 1.0)
    obs = np.asarray(self.state)
    return np.sqrt(obs ** 2), np.linalg.norm(obs)
""",
        ),
        Example(
            note="unknown kinds stay silent: env rewards may be arrays (vectorised envs)",
            code="""\
import numpy as np

for t in range(100):
    obs, reward, done, info = env.step(action)
    reward = np.clip(reward, -1, 1)
    scale = np.sqrt(info["scale"])
""",
        ),
        Example(
            note="keyword arguments (out=, dtype=) change the semantics",
            code="""\
import numpy as np

for t in range(100):
    y = np.exp(2.0, dtype=np.float32)
""",
        ),
        Example(
            note="a local variable named like the numpy alias is not numpy",
            code="""\
import numpy as np


def step(np, x):
    return np.sqrt(float(x))
""",
        ),
        Example(
            note="a norm of more than three items or of arrays",
            code="""\
import numpy as np

for t in range(10):
    d = np.linalg.norm([1.0, 2.0, 3.0, 4.0])
    e = np.linalg.norm([np.zeros(3), np.ones(3)])
""",
        ),
    )

    def check(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        q = an.qualname(node.func)
        if q is None or not q.startswith("numpy.") or node.keywords:
            return
        name = q[len("numpy."):]
        if any(isinstance(a, ast.Starred) for a in node.args):
            return
        if name == "linalg.norm":
            yield from self._check_norm(node, an)
            return
        spec = _MATH.get(name)
        if spec is None:
            return
        replacement, arity, exact, may_raise = spec
        args = node.args
        if len(args) != arity and not (name == "clip" and len(args) == 3):
            return
        kinds = [an.kind(a) for a in args]
        if name == "clip":
            # np.clip(x, None, hi): None is fine as a bound
            if not an.kind(args[0]).is_scalar or not all(k.is_scalar or k.base == "none" for k in kinds[1:]):
                return
            if all(k.base == "none" for k in kinds[1:]):
                return
        elif not all(k.is_scalar for k in kinds):
            return
        heat = an.heat(node)
        if heat is None:
            return
        fix = self._fix(node, an, name, replacement, exact, may_raise, kinds)
        shown = {"clip": "min(max(...))", "power": "`**`"}.get(name, f"`{replacement}()`")
        measured = self.speedups.get("abs" if name == "absolute" else name)
        gain = f"is {measured.claim}" if measured else "skips NumPy's array round trip"
        yield self.report(
            node,
            f"`np.{name}()` on a Python scalar {heat}: {shown} {gain}",
            fix,
        )

    def _fix(self, node: ast.Call, an: Analysis, name: str, replacement: str, exact: bool,
             may_raise: bool, kinds: list[Kind]) -> Fix | None:
        needed = {"clip": ("min", "max"), "maximum": ("max",), "minimum": ("min",),
                  "abs": ("abs",), "absolute": ("abs",)}.get(name, ())
        for builtin in needed:
            if not name_is(an, node, builtin, f"builtins.{builtin}"):
                return None
        if replacement.startswith("math.") and not name_is(an, node, "math", "math"):
            return None
        has_lo = has_hi = True
        reasons = []
        if not exact:
            reasons.append("the result may differ from NumPy's")
        if name == "sqrt":
            v = const_number(node.args[0])
            if v is None or v < 0:
                reasons.append("math.sqrt raises on negative input where np.sqrt returns nan")
        elif may_raise and name.startswith("is"):
            if not _is_float(kinds[0]):
                reasons.append("math.isnan raises OverflowError on huge ints")
        elif may_raise:
            reasons.append("math raises where NumPy returns nan/inf")
        if name == "clip":
            bounds = node.args[1:]
            literal = [const_number(b) is not None or (isinstance(b, ast.Constant) and b.value is None) for b in bounds]
            if not all(literal):
                reasons.append("non-literal bounds may be NaN")
            has_lo = not (isinstance(bounds[0], ast.Constant) and bounds[0].value is None)
            has_hi = not (isinstance(bounds[1], ast.Constant) and bounds[1].value is None)
        if any(k.dtype in ("np.float32", "np.float16") for k in kinds):
            reasons.append("float32 input becomes a float64 result")
        if not type_insensitive_use(an, node):
            reasons.append("the result becomes a Python number instead of a NumPy scalar")
        data = MathFix(name, replacement, has_lo, has_hi)
        return Fix(safe=not reasons, data=data, reason="; ".join(reasons))

    def _check_norm(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        if len(node.args) != 1:
            return
        arg = node.args[0]
        if isinstance(arg, ast.Call) and not arg.keywords and len(arg.args) == 1 and an.qualname(arg.func) in (
            "numpy.array", "numpy.asarray",
        ):
            arg = arg.args[0]
        if not isinstance(arg, ast.List | ast.Tuple) or not 2 <= len(arg.elts) <= 3:
            return
        if any(isinstance(e, ast.Starred) or not an.kind(e).is_scalar for e in arg.elts):
            return
        heat = an.heat(node)
        if heat is None:
            return
        fix = None
        if name_is(an, node, "math", "math"):
            fix = Fix(safe=False, data=MathFix("norm", "math.hypot"),
                      reason="math.hypot rounds differently from np.linalg.norm in the last bit")
        yield self.report(
            node,
            f"`np.linalg.norm()` of {len(arg.elts)} scalars {heat}: `math.hypot()` is {self.speedups['norm'].claim}",
            fix,
        )

    # -- fix ------------------------------------------------------------------------------------
    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        data = fix.data
        assert isinstance(data, MathFix)
        op = data.op
        args = [a.value for a in cast("cst.Call", node).args]
        if op == "norm":
            inner = args[0]
            if type(inner).__name__ == "Call":  # np.linalg.norm(np.array([...]))
                inner = cast("cst.Call", inner).args[0].value
            elts = [e.value for e in cast("cst.List | cst.Tuple", inner).elements]
            ctx.require_import("math")
            names = ", ".join(f"{{e{i}}}" for i in range(len(elts)))
            return ctx.expr(f"math.hypot({names})", **{f"e{i}": e for i, e in enumerate(elts)})
        if op == "clip":
            x, lo, hi = args
            out = x
            if data.has_lo:
                out = ctx.expr("max({x}, {lo})", x=out, lo=lo)
            if data.has_hi:
                out = ctx.expr("min({x}, {hi})", x=out, hi=hi)
            return out
        if op == "power":
            return ctx.expr("{x} ** {y}", x=ctx.atom(args[0]), y=ctx.atom(args[1]))
        if data.replacement.startswith("math."):
            ctx.require_import("math")
        return node.with_changes(func=ctx.expr(data.replacement))

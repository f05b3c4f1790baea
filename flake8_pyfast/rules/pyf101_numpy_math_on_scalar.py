"""PYF101: NumPy math on a Python scalar in hot code."""

from __future__ import annotations

import ast
import math
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
    "arcsin": ("math.asin", 1, False, True),
    "arccos": ("math.acos", 1, False, True),
    "arctan": ("math.atan", 1, False, False),
    "log10": ("math.log10", 1, False, True),
    "log2": ("math.log2", 1, False, True),
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


#: ``np.max((a, b))`` and friends -> the builtin
_REDUCE = {"max": "max", "amax": "max", "min": "min", "amin": "min"}

#: the builtins whose argument must be one number (a one-element array at most)
_ONE_NUMBER = ("builtins.float", "builtins.int", "builtins.bool", "builtins.round")


def _is_float(k: Kind) -> bool:
    return k.dtype in ("float", "np.float64")


def _is_numpy_scalar(k: Kind) -> bool:
    return k.is_scalar and (k.dtype or "").startswith("np.")


def _what(kinds: list[Kind], implied: bool) -> str:
    if implied:
        return "a scalar (its use needs one number)"
    return "a NumPy scalar" if any(_is_numpy_scalar(k) for k in kinds) else "a Python scalar"


def _used_as_array(an: Analysis, node: ast.expr) -> bool:
    """Is the result used through an attribute, a method or indexing (``np.ceil(x).astype(int)``)?

    A NumPy scalar has ``.astype``, ``.item``, ``.dtype``, ``.shape``...; the Python number that
    ``math`` returns has none of them.
    """
    parent = an.parent(node)
    return isinstance(parent, ast.Attribute | ast.Subscript) and parent.value is node


def _truth_test(an: Analysis, node: ast.expr) -> bool:
    """Is ``node``'s value (or a comparison of it) used as the test of an ``if``/``while``/``assert``?
    ``bool()`` of an array of more than one element raises, so it is one number there."""
    child: ast.AST = node
    parent = an.parent(node)
    if isinstance(parent, ast.Compare):
        child, parent = parent, an.parent(parent)
    while isinstance(parent, ast.BoolOp) or (isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not)):
        child, parent = parent, an.parent(parent)
    return isinstance(parent, ast.If | ast.While | ast.IfExp | ast.Assert) and parent.test is child


def _size_one_use(an: Analysis, node: ast.expr) -> bool:
    """Does the use of ``node``'s value need one number: ``float(np.clip(...))``, ``if np.abs(x) < 0.01``?"""
    parent = an.parent(node)
    if isinstance(parent, ast.Call) and parent.args == [node] and not parent.keywords:
        return an.qualname(parent.func) in _ONE_NUMBER
    return isinstance(parent, ast.Compare) and _truth_test(an, node)


def _element_like(an: Analysis, node: ast.expr, depth: int = 0) -> bool:
    """Shaped like one element (``a[i]``, ``a[i, j]`` with integer indices, arithmetic of those and of
    scalars) and not known to be anything else. With a use that needs one number, it is one."""
    k = an.kind(node)
    if k.is_scalar:
        return True
    if k.known or depth > 4:
        return False
    if isinstance(node, ast.Subscript):
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return all(not isinstance(p, ast.Slice | ast.Starred) and an.kind(p).dtype in ("int", "np.int64", "np.int32")
                   for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _element_like(an, node.operand, depth + 1)
    if isinstance(node, ast.BinOp):
        return _element_like(an, node.left, depth + 1) and _element_like(an, node.right, depth + 1)
    return False


def _is_shape(an: Analysis, node: ast.expr) -> bool:
    """A shape of Python ints: ``a.shape``, ``a.shape[1:]``, ``t.size()``, ``list(...)``/``tuple(...)`` of
    one, for ``a`` an array or tensor."""
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords and an.qualname(node.func) in (
        "builtins.list", "builtins.tuple",
    ):
        node = node.args[0]
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        node = node.value
    if isinstance(node, ast.Attribute) and node.attr == "shape":
        return an.kind(node.value).is_array
    if isinstance(node, ast.Call) and not node.args and not node.keywords and isinstance(node.func, ast.Attribute):
        return node.func.attr == "size" and an.kind(node.func.value).is_tensor
    return False


def _same_value(a: ast.expr, b: ast.expr) -> bool:
    """``x`` and ``x``, ``self.v[0]`` and ``self.v[0]``: the same name, attribute or constant index.
    (Not ``ast.dump``: its recursive closure leaves cyclic garbage behind on every call.)"""
    if isinstance(a, ast.Name) and isinstance(b, ast.Name):
        return a.id == b.id
    if isinstance(a, ast.Constant) and isinstance(b, ast.Constant):
        return type(a.value) is type(b.value) and a.value == b.value
    if isinstance(a, ast.Attribute) and isinstance(b, ast.Attribute):
        return a.attr == b.attr and _same_value(a.value, b.value)
    if isinstance(a, ast.Subscript) and isinstance(b, ast.Subscript):
        return _same_value(a.value, b.value) and _same_value(a.slice, b.slice)
    return False


def _non_negative(an: Analysis, node: ast.expr, depth: int = 0) -> bool:
    """Is ``node`` provably >= 0 (or nan), so that ``math.sqrt`` cannot raise where ``np.sqrt`` gave nan?
    ``x * x + y * y``, ``d ** 2``, ``abs(...)``, a literal, sums and products of those."""
    if depth > 8:
        return False
    v = const_number(node)
    if v is not None:
        return v >= 0
    if isinstance(node, ast.BinOp):
        op = node.op
        if isinstance(op, ast.Pow):
            e = const_number(node.right)
            return (isinstance(e, int) and e > 0 and e % 2 == 0) or (
                e is not None and e > 0 and _non_negative(an, node.left, depth + 1))
        if isinstance(op, ast.Mult) and _same_value(node.left, node.right):
            return an.kind(node.left).is_scalar  # x * x (for a scalar, not an object with odd __mul__)
        if isinstance(op, ast.Add | ast.Mult | ast.Div):
            return _non_negative(an, node.left, depth + 1) and _non_negative(an, node.right, depth + 1)
        return False
    if isinstance(node, ast.Call) and len(node.args) >= 1:
        q = an.qualname(node.func)
        return q in ("builtins.abs", "builtins.len", "math.fabs", "math.sqrt", "math.hypot", "math.exp",
                     "numpy.abs", "numpy.absolute", "numpy.fabs", "numpy.exp", "numpy.sqrt", "numpy.hypot")
    return False


class NumpyMathOnScalar(Rule):
    code = "PYF101"
    name = "numpy-math-on-scalar"
    summary = "NumPy math on a Python or NumPy scalar in hot code: use `math` / builtins"
    fixable = "sometimes"
    node_types = (ast.Call,)
    harness_phase = "simulation"  # the reward helper runs inside env.step
    equivalence = ("exact", "tolerance")  # math.hypot rounds differently from np.linalg.norm
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "sqrt": Speedup(4.76, 4.32, 4.95),
        "exp": Speedup(4.16, 3.95, 4.39),
        "abs": Speedup(7.41, 6.98, 7.66),
        "clip": Speedup(15.0, 14.3, 15.2),
        "norm": Speedup(34.6, 31.1, 38.6),
        "np_scalar_cos": Speedup(5.27, 4.99, 5.44),
        "np_scalar_sqrt": Speedup(5.53, 5.2, 5.69),
        "max_tuple": Speedup(36.8, 34.3, 38.6),
        "maximum": Speedup(7.2, 6.73, 7.47),
        "isclose": Speedup(495.0, 452.0, 541.0),
    }

    what = """
Finds calls such as `np.sqrt(x)`, `np.clip(r, -1, 1)`, `np.abs(dx)`, `np.linalg.norm([dx, dy, dz])`,
`np.max((a, b))`, `np.isclose(x, 0)` or `np.prod(t.shape)` whose arguments are single numbers (or,
for `np.prod`, the few Python ints of a shape), in code that runs every step. A number is a
Python scalar (a literal, `float()`, `.item()`, `len()`, `math.*`, an item of a PyBullet getter's
tuple, arithmetic of those) or a NumPy scalar (an element `a[i]` / `a[i, j]` of an array of known rank,
an item unpacked from or iterated out of a 1-d array, a full reduction such
as `a.sum()` or `np.max(a)`, `.astype()` of one). Ranks come from factories, `reshape(12, 1)`, `@`
and the returns of the module's own functions; `Cls.LENGTH` / `self.LENGTH` is a number when the
class body binds it to a literal and no method assigns it. Where the kind is not known, the use can
still say it is one number: `float(np.clip(a[n], -1, 1))`, `if np.abs(a[i] - g) < 0.01:`, and
`np.max((0, a[2]))` (a ragged display of a scalar and an array raises) are reported when the
arguments are elements or scalars.
"""
    why = """
A NumPy ufunc call on a scalar converts the number to a 0-d array, dispatches, and boxes the
result back into a NumPy scalar. `math.sqrt` and the builtins skip all of that, and they take a
NumPy scalar (`np.float64` is a `float`) as readily as a Python one. Measured with
`bench/pattern_speed.py`'s method:

- `np.sqrt(x)` -> `math.sqrt(x)` on a float: {speedup:sqrt}; on an array element: {speedup:np_scalar_sqrt}
- `np.cos(a[i])` -> `math.cos(a[i])` on an array element: {speedup:np_scalar_cos}
- `np.exp(x)` -> `math.exp(x)`: {speedup:exp}
- `np.abs(x)` -> `abs(x)`: {speedup:abs}
- `np.clip(x, -1.0, 1.0)` -> `min(max(x, -1.0), 1.0)`: {speedup:clip}
- `np.linalg.norm([dx, dy, dz])` -> `math.hypot(dx, dy, dz)`: {speedup:norm}
- `np.max((a, b))` -> `max(a, b)`: {speedup:max_tuple}; `np.maximum(a, b)` -> `max(a, b)`: {speedup:maximum}
- `np.isclose(x, 0)` -> `abs(x) <= 1e-08`: {speedup:isclose}
- `np.prod(t.shape)` -> `math.prod(t.shape)` (or `t.numel()`, `a.size`): a list to an array and back

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
    if np.isclose(z, 0):
        reward -= 1.0
"""
    use_instead = """
import math
import pybullet as p

gx, gy, gz = 0.5, 0.0, 0.2
for t in range(horizon):
    x, y, z = p.getBasePositionAndOrientation(robot)[0]
    dist = math.hypot(x - gx, y - gy, z - gz)
    reward = min(max(float(-dist), -1.0), 1.0)
    if abs(z) <= 1e-08:  # np.isclose(z, 0): abs(z - 0) <= atol + rtol * abs(0)
        reward -= 1.0
"""
    fix_safety = """
The fix is **safe** only when the result is the same for every input and the result type cannot
matter: the function is exact (`sqrt`, `abs`, `fabs`, `copysign`, `degrees`, `radians`,
`isnan`/`isinf`/`isfinite` on floats, `clip` with literal bounds, `isclose` against a finite
literal, written as NumPy's own test `abs(x - c) <= atol + rtol * abs(c)` with the bound folded),
it cannot raise where NumPy returned `nan` (`math.sqrt(-1.0)` raises, `np.sqrt(-1.0)` is `nan`:
`math.sqrt` is safe only on an argument that cannot be negative, such as `x * x + y * y`,
`d ** 2`, `abs(...)` or a literal), and the value is consumed where a NumPy scalar and a Python
float behave alike (a comparison, an `if` test, `float()`, `int()`, `math.*`, `np.*`): `math`
returns a Python `float` also for a NumPy-scalar argument. Everywhere else it is **unsafe**:
`math.exp`, `math.sin`, `math.tanh` ... may differ from NumPy in the last bit; `math.floor`
returns an `int`; `max`/`min` treat NaN differently from `np.maximum`/`np.max`; `x ** y` differs
from `np.power` for negative integer exponents; `np.isclose(x, y)` with a variable `y` treats
equal infinities as close; an argument known to be one number only from its use may be a
one-element array; and `np.float64` arithmetic warns where `float` raises `ZeroDivisionError`.
`math.prod` of a shape is safe inside `int(...)`; elsewhere it is unsafe: `np.prod` returns a
NumPy int (and the float `1.0` for an empty shape), `math.prod` a Python int.
No fix is offered where `math`, `abs`, `min` or `max` is shadowed by another binding, nor where
the result is used through an attribute, a method or indexing (`np.ceil(x).astype(np.int32)`:
a Python number has no `.astype`); for a NumPy-scalar argument that use is not even reported,
since the code wants NumPy's result type.
"""
    when_wrong = """
If the "scalar" is really a NumPy array (e.g. a name annotated `float` that receives arrays), the
`math` version raises `TypeError`. pyfast only reports when every argument is known to be a
scalar, or the use of the result needs one number and every argument is an element or a scalar;
it stays silent in cold code (`layer_init(std=np.sqrt(2))` at module level, constructors).
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
        Example(
            note="NumPy scalars unpacked from a 1-d array; sqrt of a sum of squares cannot be negative",
            code="""\
import numpy as np


def compute_reward(self, target):
    delta = np.zeros(3)
    delta[:] = target
    dx, dy, dz = delta
    if np.sqrt(dx * dx + dy * dy) < 0.05:
        return 1.0
    return 0.0
""",
            expect=((8, "PYF101"),),
            fixed="""\
import math

import numpy as np


def compute_reward(self, target):
    delta = np.zeros(3)
    delta[:] = target
    dx, dy, dz = delta
    if math.sqrt(dx * dx + dy * dy) < 0.05:
        return 1.0
    return 0.0
""",
            run="compute_reward",
            inputs=((None, [0.01, 0.02, 0.0]), (None, [1.0, -2.0, 3.0]), (None, [float("nan"), 0.0, 0.0])),
            requires=("numpy",),
        ),
        Example(
            note="np.max of a list of two scalars, np.isclose on a scalar from a pybullet getter",
            code="""\
import numpy as np
import pybullet as p


def apply_action(self, q):
    roll, pitch, yaw = p.getEulerFromQuaternion(q)
    tilt = np.max([abs(roll), abs(pitch)])
    if np.isclose(yaw, 0):
        return 0.0
    return tilt
""",
            expect=((7, "PYF101"), (8, "PYF101")),
            fixed="""\
import pybullet as p


def apply_action(self, q):
    roll, pitch, yaw = p.getEulerFromQuaternion(q)
    tilt = max(abs(roll), abs(pitch))
    if abs(yaw) <= 1e-08:
        return 0.0
    return tilt
""",
            unsafe=True,
        ),
        Example(
            note="float() needs one number: the argument, an element, is one",
            code="""\
import numpy as np


def apply_action(self, action):
    for n in range(len(action)):
        self.targets[n] = float(np.clip(action[n], -1, +1))
""",
            expect=((6, "PYF101"),),
            fixed="""\
def apply_action(self, action):
    for n in range(len(action)):
        self.targets[n] = float(min(max(action[n], -1), +1))
""",
            unsafe=True,
        ),
        Example(
            note="np.prod of a tensor's shape per parameter, per line-search step; int() takes either",
            code="""\
import numpy as np


def set_flat(model, flat):
    start = 0
    for param in model.parameters():
        n = int(np.prod(list(param.size())))
        param.data.copy_(flat[start:start + n].view(param.size()))
        start += n
""",
            expect=((7, "PYF101"),),
            fixed="""\
import math


def set_flat(model, flat):
    start = 0
    for param in model.parameters():
        n = int(math.prod(list(param.size())))
        param.data.copy_(flat[start:start + n].view(param.size()))
        start += n
""",
        ),
        Example(
            note="a class constant, a full reduction, an element of an array a module function returns",
            code="""\
import numpy as np


def ends(x):
    return np.concatenate([x, x]).ravel()


class Pole:
    LENGTH = 0.6

    def step(self, ob):
        e = ends(ob)
        cost = np.exp(-np.sum(np.square(e)) / Pole.LENGTH ** 2)
        return cost + np.sin(e[1])
""",
            expect=((13, "PYF101"), (14, "PYF101")),
            fixed="""\
import math

import numpy as np


def ends(x):
    return np.concatenate([x, x]).ravel()


class Pole:
    LENGTH = 0.6

    def step(self, ob):
        e = ends(ob)
        cost = math.exp(-np.sum(np.square(e)) / Pole.LENGTH ** 2)
        return cost + math.sin(e[1])
""",
            unsafe=True,
        ),
    )
    good = (
        Example(
            note="rows, not elements: a 2-d array indexed once, a rank reshape cannot tell, a matrix product",
            code="""\
import numpy as np


def grid(n):
    return np.zeros((n, 3))


def step(self, w, ob):
    g = grid(4)
    m = np.eye(3)
    r = np.ones(9).reshape(w)
    return np.sin(g[0]), np.cos(r[1]), np.abs((m @ m)[2]), np.sqrt(ob[1])
""",
        ),
        Example(
            note="fancy indexing, a tensor element, a class attribute a method re-binds to an array",
            code="""\
import numpy as np
import torch


class Arm:
    GAIN = 0.5

    def __init__(self, n):
        self.GAIN = np.ones(n)

    def step(self, idx):
        a = np.ones(6)
        t = torch.zeros(3)
        return np.sin(a[idx]), np.cos(t[0]), np.exp(self.GAIN), np.prod(a), np.prod(self.shape)
""",
        ),
        Example(
            note="a function that may return None or an array of either rank",
            code="""\
import numpy as np


def pick(x, flat):
    if flat:
        return np.zeros(3)
    return np.zeros((3, 3))


def step(self, x):
    return np.sin(pick(x, True)[0])
""",
        ),
        Example(
            note="the result is used as a NumPy scalar (`.astype`): math.ceil would return an int",
            code="""\
import numpy as np


def plan(self, steps):
    costs = np.zeros(steps)
    for i in range(steps):
        n = np.ceil(costs[i] / 0.1).astype(np.int32)
        self.grid[n] = 1
""",
        ),
        Example(
            note="elements of unknown kind, a name, an image: no use that needs one number",
            code="""\
import numpy as np


def step(self, obs, err, img):
    for i in range(len(obs)):
        self.scale[i] = np.sqrt(obs[i])
    if np.abs(err) < 0.1:
        img = np.clip(img.astype(np.int16) + 10, 0, 255)
    done = np.isclose(self.dist, 0)
    return np.max((0, img)), done
""",
        ),
        Example(
            note="set-up code runs once, NumPy scalars or not",
            code="""\
import numpy as np


class Leg:
    def __init__(self, angles):
        self.angles = np.asarray(angles, dtype=np.float64).reshape(3)
        self.reach = np.sqrt(self.angles.sum())
        self.c0 = np.cos(np.max(self.angles))
""",
        ),
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
        if q is None or not q.startswith("numpy."):
            return
        name = q[len("numpy."):]
        if any(isinstance(a, ast.Starred) for a in node.args) or any(kw.arg is None for kw in node.keywords):
            return
        if name == "isclose":
            yield from self._check_isclose(node, an)
            return
        if node.keywords:
            return
        if name == "linalg.norm":
            yield from self._check_norm(node, an)
            return
        if name in _REDUCE:
            yield from self._check_reduce(node, an, _REDUCE[name])
            return
        if name in ("prod", "product"):
            yield from self._check_prod(node, an)
            return
        spec = _MATH.get(name)
        if spec is None:
            return
        replacement, arity, exact, may_raise = spec
        args = node.args
        if len(args) != arity:
            return
        kinds = [an.kind(a) for a in args]
        implied = False
        if name == "clip":
            # np.clip(x, None, hi): None is fine as a bound
            if all(k.base == "none" for k in kinds[1:]):
                return
            if not (kinds[0].is_scalar and all(k.is_scalar or k.base == "none" for k in kinds[1:])):
                implied = _size_one_use(an, node) and all(
                    k.is_scalar or k.base == "none" or _element_like(an, a) for a, k in zip(args, kinds, strict=True)
                )
                if not implied:
                    return
        elif not all(k.is_scalar for k in kinds):
            implied = _size_one_use(an, node) and all(
                k.is_scalar or _element_like(an, a) for a, k in zip(args, kinds, strict=True)
            )
            if not implied:
                return
        np_scalar = any(_is_numpy_scalar(k) for k in kinds)
        as_array = _used_as_array(an, node)
        if as_array and (np_scalar or implied):
            return  # `np.ceil(a[i]).astype(np.int32)`: the NumPy scalar result is what the code wants
        heat = an.heat(node)
        if heat is None:
            return
        fix = None if as_array else self._fix(node, an, name, replacement, exact, may_raise, kinds, implied)
        shown = {"clip": "min(max(...))", "power": "`**`"}.get(name, f"`{replacement}()`")
        key = "abs" if name == "absolute" else name
        if np_scalar:
            key = {"sqrt": "np_scalar_sqrt", "cos": "np_scalar_cos"}.get(name, "")
        measured = self.speedups.get(key)
        gain = f"is {measured.claim}" if measured else "skips NumPy's array round trip"
        yield self.report(node, f"`np.{name}()` on {_what(kinds, implied)} {heat}: {shown} {gain}", fix)

    def _fix(self, node: ast.Call, an: Analysis, name: str, replacement: str, exact: bool,
             may_raise: bool, kinds: list[Kind], implied: bool = False) -> Fix | None:
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
            if not _non_negative(an, node.args[0]):
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
        if implied:
            reasons.append("the argument may be a one-element array rather than a scalar")
        if not type_insensitive_use(an, node):
            reasons.append("the result becomes a Python number instead of a NumPy scalar")
        data = MathFix(name, replacement, has_lo, has_hi)
        return Fix(safe=not reasons, data=data, reason="; ".join(reasons))

    def _check_reduce(self, node: ast.Call, an: Analysis, builtin: str) -> Iterator[Finding]:
        """``np.max((a, b))`` / ``np.min([a, b])`` of scalars: the builtin ``max``/``min``."""
        if len(node.args) != 1:
            return
        arg = node.args[0]
        if not isinstance(arg, ast.List | ast.Tuple) or len(arg.elts) < 2:
            return
        if any(isinstance(e, ast.Starred) for e in arg.elts):
            return
        kinds = [an.kind(e) for e in arg.elts]
        implied = False
        if not all(k.is_scalar for k in kinds):
            # a known scalar beside items of unknown kind: NumPy raises on the ragged display unless
            # those are scalars too (`np.max((0, a[2]))`)
            if not any(k.is_scalar for k in kinds) or not all(_element_like(an, e) for e in arg.elts):
                return
            implied = True
        np_scalar = any(_is_numpy_scalar(k) for k in kinds)
        as_array = _used_as_array(an, node)
        if as_array and (np_scalar or implied):
            return
        heat = an.heat(node)
        if heat is None:
            return
        fix = None
        if not as_array and name_is(an, node, builtin, f"builtins.{builtin}"):
            fix = Fix(safe=False, data=MathFix("reduce", builtin),
                      reason=f"`{builtin}()` returns nan or not depending on the order where NumPy always "
                             "returns nan; the result is not a NumPy scalar")
        shown = "np." + an.qualname(node.func).rpartition(".")[2]  # type: ignore[union-attr]
        yield self.report(
            node,
            f"`{shown}()` of {len(arg.elts)} scalars {heat}: `{builtin}()` is {self.speedups['max_tuple'].claim}",
            fix,
        )

    def _check_prod(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        """``np.prod(x.shape)``, ``int(np.prod(list(t.size())))``: a product of a few Python ints."""
        if len(node.args) != 1 or not _is_shape(an, node.args[0]):
            return
        heat = an.heat(node)
        if heat is None:
            return
        fix = None
        if not _used_as_array(an, node) and name_is(an, node, "math", "math"):
            parent = an.parent(node)
            in_int = (isinstance(parent, ast.Call) and parent.args == [node] and not parent.keywords
                      and an.qualname(parent.func) == "builtins.int")
            fix = Fix(safe=in_int, data=MathFix("prod", "math.prod"),
                      reason="" if in_int else "np.prod gives a NumPy int (the float 1.0 for an empty shape); "
                                               "math.prod a Python int")
        yield self.report(
            node,
            f"`np.prod()` of a shape {heat}: `math.prod()` skips NumPy's array round trip "
            "(a tensor's `.numel()` and an array's `.size` are the whole product)",
            fix,
        )

    def _check_isclose(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        """``np.isclose(x, y)`` on scalars: ``abs(x - y) <= atol + rtol * abs(y)``, NumPy's own test."""
        args = node.args
        if not 2 <= len(args) <= 4:
            return
        tols = {"rtol": args[2] if len(args) > 2 else None, "atol": args[3] if len(args) > 3 else None}
        for kw in node.keywords:
            if kw.arg not in tols or tols[kw.arg] is not None:
                return  # equal_nan=, or a tolerance given twice
            tols[kw.arg] = kw.value
        x, y = args[:2]
        kinds = [an.kind(x), an.kind(y)]
        implied = False
        if not all(k.is_scalar for k in kinds):
            implied = _truth_test(an, node) and all(
                k.is_scalar or _element_like(an, a) for a, k in zip((x, y), kinds, strict=True)
            )
            if not implied:
                return
        heat = an.heat(node)
        if heat is None:
            return
        rtol = 1e-05 if tols["rtol"] is None else const_number(tols["rtol"])
        atol = 1e-08 if tols["atol"] is None else const_number(tols["atol"])
        fix = None
        if rtol is not None and atol is not None and not _used_as_array(an, node) and name_is(
            an, node, "abs", "builtins.abs"
        ):
            fix = self._isclose_fix(node, an, float(rtol), float(atol), kinds, implied)
        yield self.report(
            node,
            f"`np.isclose()` on {_what(kinds, implied)} {heat}: `abs(x - y) <= atol + rtol * abs(y)` "
            f"is {self.speedups['isclose'].claim}",
            fix,
        )

    @staticmethod
    def _isclose_fix(node: ast.Call, an: Analysis, rtol: float, atol: float, kinds: list[Kind],
                     implied: bool) -> Fix | None:
        y = node.args[1]
        c = const_number(y)
        reasons = []
        if c is not None and math.isfinite(c):
            # a finite literal y: NumPy takes the plain branch, and the bound folds to one number
            tol = atol + rtol * abs(c)
            template = f"abs({{x}}) <= {tol!r}" if c == 0 else f"abs({{x}} - {{y}}) <= {tol!r}"
        elif isinstance(y, ast.Name | ast.Attribute | ast.Constant):
            template = f"abs({{x}} - {{y}}) <= {atol!r} + {rtol!r} * abs({{y}})"
            reasons.append("np.isclose treats infinities of the same sign as close; the expression does not")
        else:
            return None  # y would be evaluated twice
        if kinds[0].dtype not in ("float", "np.float64"):
            reasons.append("NumPy compares in float64, Python in the argument's own type")
        if implied:
            reasons.append("the argument may be a one-element array rather than a scalar")
        if not type_insensitive_use(an, node):
            reasons.append("the result becomes a Python bool instead of a NumPy bool")
        return Fix(safe=not reasons, data=MathFix("isclose", template), reason="; ".join(reasons))

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
        if any(isinstance(e, ast.Starred) for e in arg.elts):
            return
        kinds = [an.kind(e) for e in arg.elts]
        if not all(k.is_scalar for k in kinds):
            return
        as_array = _used_as_array(an, node)
        if as_array and any(_is_numpy_scalar(k) for k in kinds):
            return
        heat = an.heat(node)
        if heat is None:
            return
        fix = None
        if not as_array and name_is(an, node, "math", "math"):
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
        if op == "reduce":
            elts = [e.value for e in cast("cst.List | cst.Tuple", args[0]).elements]
            names = ", ".join(f"{{e{i}}}" for i in range(len(elts)))
            return ctx.expr(f"{data.replacement}({names})", **{f"e{i}": e for i, e in enumerate(elts)})
        if op == "isclose":
            parts = {"x": ctx.atom(args[0]), "y": ctx.atom(args[1])}
            return ctx.expr(data.replacement, **{k: v for k, v in parts.items() if f"{{{k}}}" in data.replacement})
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

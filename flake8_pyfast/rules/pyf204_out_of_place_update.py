"""PYF204: out-of-place updates of arrays/tensors that could be in place, in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from flake8_pyfast.analysis import knowledge as K
from flake8_pyfast.analysis.alias import escapes_before, returned_values
from flake8_pyfast.analysis.astutil import const_number, keyword, same_expr
from flake8_pyfast.analysis.kinds import (
    FLOAT_DTYPES,
    INT_DTYPES,
    NDARRAY,
    SCALAR,
    TENSOR,
    UNKNOWN,
    Kind,
    join_all,
    promote_arrays,
)
from flake8_pyfast.locator import Locator, follow
from flake8_pyfast.model import Example, Finding, Fix, FixData
from flake8_pyfast.rule import FixContext, Rule, Speedup

if TYPE_CHECKING:
    import libcst as cst

    from flake8_pyfast.analysis import Analysis
    from flake8_pyfast.rule import FixResult

_OPS: dict[type[ast.operator], tuple[str, str]] = {
    ast.Add: ("+", "add_"), ast.Sub: ("-", "sub_"), ast.Mult: ("*", "mul_"), ast.Div: ("/", "div_"),
}
_COMMUTATIVE = (ast.Add, ast.Mult)
Path = tuple[Any, ...]


@dataclass(frozen=True)
class InPlaceFix(FixData):
    """Which in-place form replaces the update, and where its parts are (locators from the
    finding's node: the ``Assign``, or the ``copy_`` call of a soft update).

    ``form``: ``aug`` (``x op= operand``), ``chain`` (``x.ops[0](operands[0]).ops[1](...)``),
    ``method`` / ``function`` (``x.method(...)``), ``np_clip`` (``out=x``), ``ema`` (``t.lerp_(s, b)``
    when ``lerp``, else ``t.mul_(a).add_(s, alpha=b)`` or ``.add_(b * s)``), ``soft``
    (``target.lerp_(s, w)``).
    """

    form: str
    op: str = ""
    method: str = ""
    ops: tuple[str, ...] = ()
    operand: Locator = ()
    operands: tuple[Locator, ...] = ()
    target: Locator = ()
    a: Locator = ()
    b: Locator = ()
    s: Locator = ()
    w: Locator = ()
    lerp: bool = False
    alpha: bool = False


#: (the name's load, the other operands, fix data, message template, exact?)
Match = tuple[ast.Name, list[ast.expr], InPlaceFix, str, bool]
_INT_OK_METHODS = ("clamp_", "clip_", "clamp_min_", "clamp_max_", "abs_", "neg_", "sign_", "relu_")
_AUG = {"+": "AddAssign", "-": "SubtractAssign", "*": "MultiplyAssign", "/": "DivideAssign"}


def _complement(a: ast.expr, b: ast.expr) -> bool:
    """Is ``a`` written as ``1 - b`` (or ``1.0 - b``)?"""
    return (
        isinstance(a, ast.BinOp)
        and isinstance(a.op, ast.Sub)
        and const_number(a.left) in (1, 1.0)
        and same_expr(a.right, b)
    )


def _split_product(node: ast.expr, target: ast.expr) -> tuple[ast.expr, str] | None:
    """``c * target`` or ``target * c`` -> (c, which side c is on)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        if same_expr(node.right, target) and not same_expr(node.left, target):
            return node.left, "left"
        if same_expr(node.left, target) and not same_expr(node.right, target):
            return node.right, "right"
    return None


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


#: torch functions and tensor methods whose result is floating whatever their input
_FLOAT_MAKERS = frozenset({"rand", "randn", "normal", "rand_like", "randn_like", "float", "double", "half",
                           "bfloat16"})
#: functions and methods whose result has their first operand's (or receiver's) dtype
_DTYPE_KEEPING = K.TENSOR_INPLACE_UNARY | frozenset({"detach", "clone", "contiguous", "cpu", "cuda", "copy",
                                                      "minimum", "maximum", "where"})
FLOATING = "floating"  # a float dtype, which one not known
_FLOATISH = FLOAT_DTYPES | {FLOATING}


def _floating(an: Analysis, node: ast.expr, seen: frozenset[int] = frozenset()) -> bool:
    """Is ``node`` certainly an array or tensor of some floating dtype (``randn_like(x) * s``,
    ``r + gamma * q`` with ``r`` float32, ``(a - b) / n``)? Complex values are not considered: the
    operations this rule rewrites (clamp, lerp, in-place arithmetic into a real tensor) fail on them
    in the original form too, or carry an unsafe fix."""
    if id(node) in seen:  # a name read again through its own update (``mu = a * mu + b``): what the
        return isinstance(node, ast.Name)  # other bindings give, since + - * keep a float floating
    if len(seen) > 24:
        return False
    seen = seen | {id(node)}
    k = an.kind(node)
    if k.dtype in FLOAT_DTYPES or (k.base == SCALAR and k.dtype == "float"):
        return True
    if k.dtype is not None and k.dtype not in ("number", FLOATING):
        return False  # an int or bool value
    if isinstance(node, ast.Constant):
        return isinstance(node.value, float)
    if isinstance(node, ast.Name):
        bindings = an.bindings_of(node)
        return bool(bindings) and all(
            b.how in ("assign", "named", "aug") and b.value is not None and not b.path
            and _floating(an, b.value.left if b.how == "aug" else b.value, seen)  # type: ignore[attr-defined]
            for b in bindings
        )
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Div):
            return True  # true division of numbers is floating
        if isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            return _floating(an, node.left, seen) or _floating(an, node.right, seen)
        return False
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.USub | ast.UAdd) and _floating(an, node.operand, seen)
    if isinstance(node, ast.Subscript):
        return an.kind(node.value).base in (TENSOR, NDARRAY) and _floating(an, node.value, seen)
    if isinstance(node, ast.Call):
        q = an.qualname(node.func)
        if q is not None:
            mod, _, name = q.rpartition(".")
            if mod != "torch" and mod != "torch.nn.functional":
                return False
            if name in _FLOAT_MAKERS and keyword(node, "dtype") is None:
                return True
            return name in _DTYPE_KEEPING and bool(node.args) and _floating(an, node.args[0], seen)
        func = node.func
        if isinstance(func, ast.Attribute) and an.kind(func.value).base in (TENSOR, NDARRAY):
            if func.attr in ("float", "double", "half", "bfloat16") and not node.args:
                return True
            return func.attr in _DTYPE_KEEPING and _floating(an, func.value, seen)
    return False


def _kind_through_returns(an: Analysis, load: ast.Name) -> Kind:
    """The kind of a name bound to what a data function of this module returns
    (``obs, adv = self.sample(idx)``): what every ``return`` agrees on."""
    kinds: list[Kind] = []
    for b in an.bindings_of(load):
        if b.how != "assign" or not isinstance(b.value, ast.Call):
            return UNKNOWN
        rets = returned_values(an, b.value, b.path)
        if rets is None:
            return UNKNOWN
        kinds.extend(an.kind(r) for r in rets)
    return join_all(kinds) if kinds else UNKNOWN


class OutOfPlaceUpdate(Rule):
    code = "PYF204"
    name = "out-of-place-update"
    summary = "`x = x + y`, `x = x.clamp(...)`, EMAs and soft target updates that could be in place"
    fixable = "sometimes"
    node_types = (ast.Assign, ast.Call)
    harness_phase = "update"
    equivalence = ("exact", "tolerance")  # lerp_ and chained in-place ops round differently
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "inplace": Speedup(1.6, 1.4, 1.72),
        "lerp": Speedup(5.61, 5.39, 5.85),
        "polyak": Speedup(3.81, 3.4, 4.11),
        "whole": Speedup(1.16, 1.08, 1.24),
    }

    what = """
Finds, in code that runs every step, an array or tensor rebound to an out-of-place result computed
from itself: `x = x + y` (also `-`, `*`, `/`, and `x = y * x`), chains such as
`adv = (adv - m) / s`, `x = x.clamp(...)` / `torch.clamp(x, ...)` / `x = torch.relu(x)` /
`x = np.clip(x, lo, hi)`, an exponential moving average `t = a * t + b * s`, the soft target
update `tp.data.copy_(tau * p.data + (1 - tau) * tp.data)` and its two-statement form
`tp.data.mul_(polyak)` then `tp.data.add_((1 - polyak) * p.data)`, and a whole-array write of a
sum built from the array itself, `m[...] = m + d` (also `m[...] = old + d` right after
`old = m.copy()`).
"""
    why = """
Every out-of-place operation allocates a new array (and frees the old one), and a chain allocates
one temporary per operator. In place, the same arithmetic writes into memory that is already hot
in cache. Measured by `bench/pattern_speed.py`: `x = x + y` -> `x += y` on a tensor of 65536
floats, {speedup:inplace}; the soft target update of a small MLP's six tensors -> `lerp_` (one
fused kernel instead of three temporaries), {speedup:lerp}; the two-statement polyak update of a
256-256 actor-critic -> `lerp_` (one pass, no temporary), {speedup:polyak}; a running mean of 17
floats, `m[...] = m + (x - m) / n` -> `m += (x - m) / n` (no temporary, no copy), {speedup:whole}.
"""
    example = """
import torch

tau, gamma, num_envs = 0.005, 0.99, 8
with torch.no_grad():
    for p, tp in zip(net.parameters(), target.parameters()):
        tp.data.copy_(tau * p.data + (1 - tau) * tp.data)
ret = torch.zeros(num_envs)
for t in reversed(range(num_steps)):
    ret = ret * gamma
"""
    use_instead = """
import torch

tau, gamma, num_envs = 0.005, 0.99, 8
with torch.no_grad():
    for p, tp in zip(net.parameters(), target.parameters()):
        tp.data.lerp_(p.data, tau)
ret = torch.zeros(num_envs)
for t in reversed(range(num_steps)):
    ret *= gamma
"""
    fix_safety = """
In-place is only offered when nobody else can hold the old object, and pyfast stays silent
otherwise: the name must be fresh (made by a factory, arithmetic, fancy indexing, `.clone()`),
not a parameter, an attribute, a view (`x[0]`, `.view()`, `.detach()`) or an alias (`y = x`);
its value must not have been stored, appended, returned, yielded, captured by a closure or passed
to an unknown function before the update (kept *after* it is fine when the next iteration binds a
new object first); a tensor must be under `torch.no_grad()` or provably outside autograd (in-place
ops on saved tensors break `backward()`): built from data (`torch.tensor(...)`, `torch.as_tensor` of
a NumPy copy, random factories such as `torch.randn_like`), or returned by a sampling function of
the module that returns only such tensors and keeps none of them; and the dtype must not change (an
int tensor times a float). The fix to `x op= y` is **safe** when `y` is a Python number; it is
**unsafe** when `y` is an array (it may broadcast `x` to a bigger shape, which in-place cannot do)
or its dtype is unknown. `lerp_` and `mul_().add_(alpha=)` round differently from the original
expression, so EMA and soft-update fixes are **unsafe**, as are chains whose later operands read
the variable being updated (`adv.std()` after `adv.sub_()`). The polyak pair `t.mul_(a)`;
`t.add_((1 - a) * s)` already works in place, so `t.lerp_(s, 1 - a)` changes no aliasing; it is
**unsafe** because `lerp_` rounds differently and wants `s` in `t`'s dtype. `m[...] = m + d` ->
`m += d` changes `m` in place as the original does: it is **safe** when `m` is a float array and
`d`'s dtype is known (not complex: `[...] =` casts a complex sum with a warning, `+=` refuses);
an int array is left alone (`m[...] = m / n` truncates, `m /= n` raises).
"""
    when_wrong = """
If another object holds the array through a path pyfast cannot see (a C extension, a global
registry), the in-place version changes it too. Add `# noqa: PYF204` there.
"""

    bad = (
        Example(
            code="""\
import torch

ret = torch.zeros(8)
for t in range(100):
    ret = ret * 0.99  # discount
""",
            expect=((5, "PYF204"),),
            fixed="""\
import torch

ret = torch.zeros(8)
for t in range(100):
    ret *= 0.99  # discount
""",
        ),
        Example(
            note="NumPy arrays, a commutative operand order, and a clip",
            code="""\
import numpy as np


def episode(n):
    x = np.zeros(4)
    for t in range(n):
        x = 0.5 + x
        x = np.clip(x, -1.0, 1.0)
    return x
""",
            expect=((7, "PYF204"), (8, "PYF204")),
            fixed="""\
import numpy as np


def episode(n):
    x = np.zeros(4)
    for t in range(n):
        x += 0.5
        np.clip(x, -1.0, 1.0, out=x)
    return x
""",
            run="episode",
            inputs=((0,), (3,), (10,)),
            requires=("numpy",),
        ),
        Example(
            note="soft target update and EMA under no_grad: lerp_ (unsafe: rounding)",
            code="""\
import torch

xs = torch.randn(10, 3)
with torch.no_grad():
    for p, tp in zip(net.parameters(), target.parameters()):
        tp.data.copy_(tau * p.data + (1 - tau) * tp.data)
    avg = torch.zeros(3)
    for x in xs:
        avg = 0.9 * avg + (1 - 0.9) * x
""",
            expect=((6, "PYF204"), (9, "PYF204")),
            fixed="""\
import torch

xs = torch.randn(10, 3)
with torch.no_grad():
    for p, tp in zip(net.parameters(), target.parameters()):
        tp.data.lerp_(p.data, tau)
    avg = torch.zeros(3)
    for x in xs:
        avg.lerp_(x, 1 - 0.9)
""",
            unsafe=True,
        ),
        Example(
            note="advantage normalisation on a fresh minibatch (fancy indexing copies)",
            code="""\
import numpy as np
import torch

b_adv = torch.zeros(64)
inds = np.arange(64)
with torch.no_grad():
    for start in range(0, 64, 16):
        mb_adv = b_adv[inds[start:start + 16]]
        mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
        mb_adv = torch.clamp(mb_adv, -5.0, 5.0)
""",
            expect=((9, "PYF204"), (10, "PYF204")),
            fixed="""\
import numpy as np
import torch

b_adv = torch.zeros(64)
inds = np.arange(64)
with torch.no_grad():
    for start in range(0, 64, 16):
        mb_adv = b_adv[inds[start:start + 16]]
        mb_adv.sub_(mb_adv.mean()).div_(mb_adv.std() + 1e-8)
        mb_adv.clamp_(-5.0, 5.0)
""",
            unsafe=True,
        ),
        Example(
            note="outside no_grad: tensors built from data (a sampling method, randn, as_tensor) are "
                 "fresh and carry no autograd history",
            code="""\
import numpy as np
import torch


class Learner:
    def __init__(self, size):
        self.adv = np.zeros(size, dtype=np.float32)
        self.act = np.zeros((size, 2), dtype=np.float32)

    def sample(self, idx):
        adv = torch.tensor(self.adv[idx], dtype=torch.float32)
        act = torch.tensor(self.act[idx], dtype=torch.float32)
        return adv, act

    def update(self, idx, dones):
        for epoch in range(4):
            adv, act = self.sample(idx)
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            noise = torch.randn(len(idx), 2) * 0.2
            noise = noise.clamp(-0.5, 0.5)
            done = torch.as_tensor(np.array(dones), dtype=torch.float32)
            keep = torch.ones(8)
            keep = keep * (1.0 - done)
            loss = self.loss(adv, act + noise, keep)
            loss.backward()
""",
            expect=((18, "PYF204"), (20, "PYF204"), (23, "PYF204")),
            fixed="""\
import numpy as np
import torch


class Learner:
    def __init__(self, size):
        self.adv = np.zeros(size, dtype=np.float32)
        self.act = np.zeros((size, 2), dtype=np.float32)

    def sample(self, idx):
        adv = torch.tensor(self.adv[idx], dtype=torch.float32)
        act = torch.tensor(self.act[idx], dtype=torch.float32)
        return adv, act

    def update(self, idx, dones):
        for epoch in range(4):
            adv, act = self.sample(idx)
            adv.sub_(adv.mean()).div_(adv.std() + 1e-8)
            noise = torch.randn(len(idx), 2) * 0.2
            noise.clamp_(-0.5, 0.5)
            done = torch.as_tensor(np.array(dones), dtype=torch.float32)
            keep = torch.ones(8)
            keep *= 1.0 - done
            loss = self.loss(adv, act + noise, keep)
            loss.backward()
""",
            unsafe=True,
        ),
        Example(
            note="the polyak update in two in-place steps (lerp_: unsafe, rounding), and a clamp on a fresh "
                 "float tensor of unknown exact dtype under no_grad",
            code="""\
import torch


def train(ac, ac_targ, pi_targ, polyak, noise_clip, steps):
    for it in range(steps):
        with torch.no_grad():
            eps = torch.randn_like(pi_targ) * 0.2
            eps = torch.clamp(eps, -noise_clip, noise_clip)
            for p, p_targ in zip(ac.parameters(), ac_targ.parameters()):
                p_targ.data.mul_(polyak)
                p_targ.data.add_((1 - polyak) * p.data)
    return eps
""",
            expect=((8, "PYF204"), (11, "PYF204")),
            fixed="""\
import torch


def train(ac, ac_targ, pi_targ, polyak, noise_clip, steps):
    for it in range(steps):
        with torch.no_grad():
            eps = torch.randn_like(pi_targ) * 0.2
            eps.clamp_(-noise_clip, noise_clip)
            for p, p_targ in zip(ac.parameters(), ac_targ.parameters()):
                p_targ.data.lerp_(p.data, 1 - polyak)
    return eps
""",
            unsafe=True,
        ),
        Example(
            note="a running mean written back whole: in place, safe (a float array, float operands)",
            code="""\
import numpy as np


class Running:
    def __init__(self, n):
        self.count = 0
        self.mean = np.zeros(n)
        self.sq = np.zeros(n)

    def step(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.count += 1
        old = self.mean.copy()
        self.mean[...] = old + (x - old) / self.count
        self.sq[:] = self.sq + (x - old) * (x - self.mean)
        return self.mean
""",
            expect=((14, "PYF204"), (15, "PYF204")),
            fixed="""\
import numpy as np


class Running:
    def __init__(self, n):
        self.count = 0
        self.mean = np.zeros(n)
        self.sq = np.zeros(n)

    def step(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.count += 1
        old = self.mean.copy()
        self.mean += (x - old) / self.count
        self.sq += (x - old) * (x - self.mean)
        return self.mean
""",
        ),
        Example(
            note="a view rebound to its own name (`x = x.detach()`) leaves the fresh result to the view",
            code="""\
import torch


def targets(batches, q, gamma):
    out = []
    for r in batches:
        with torch.no_grad():
            t = torch.as_tensor(r, dtype=torch.float32) + gamma * q
            t = t.detach()
            t = torch.clamp(t, -10.0, 0.0)
        out.append(t)
    return out
""",
            expect=((10, "PYF204"),),
            fixed="""\
import torch


def targets(batches, q, gamma):
    out = []
    for r in batches:
        with torch.no_grad():
            t = torch.as_tensor(r, dtype=torch.float32) + gamma * q
            t = t.detach()
            t.clamp_(-10.0, 0.0)
        out.append(t)
    return out
""",
        ),
    )
    good = (
        Example(
            note="a tensor made to require grad, a detached view whose source is still read, a clamp of a "
                 "value of unknown dtype, a polyak step whose source reads the target, a copy taken too early",
            code="""\
import numpy as np
import torch


def step(q, r, counts, ac, ac_targ, polyak, stats, x):
    w = torch.randn(4) * 0.1
    w.requires_grad_()
    w = torch.clamp(w, -1.0, 1.0)
    with torch.no_grad():
        base = torch.randn(3) * 2.0
        view = base.detach()
        view = torch.clamp(view, 0.0, 1.0)
        c = counts + q
        c = torch.clamp(c, 0, 5)
        for p, p_targ in zip(ac.parameters(), ac_targ.parameters()):
            p_targ.data.mul_(polyak)
            p_targ.data.add_((1 - polyak) * (p.data - p_targ.data))
    old = stats.m.copy()
    stats.m += x
    stats.m[...] = old + (x - old) * 0.5
    return w, base, view, c
""",
        ),
        Example(
            note="whole writes that must stay: an int array (`/` truncates there, `/=` raises), a partial slice, "
                 "fancy indices",
            code="""\
import numpy as np


class Hist:
    def __init__(self):
        self.bins = np.zeros(8, dtype=np.int64)
        self.vals = np.zeros(8)

    def step(self, k, idx, x):
        self.bins[...] = self.bins / 2
        self.vals[:k] = self.vals[:k] + x
        self.vals[idx] = self.vals[idx] + x
""",
        ),
        Example(
            note="outside no_grad: a sample the method also keeps, a view of a buffer (from_numpy of a "
                 "slice; .float() of float32 is the same tensor), .detach(), values from the network",
            code="""\
import numpy as np
import torch


class Storage:
    def __init__(self, size):
        self.adv = np.zeros(size, dtype=np.float32)
        self.last = None

    def latest(self, idx):
        adv = torch.tensor(self.adv[idx], dtype=torch.float32)
        self.last = adv
        return adv

    def window(self, start):
        return torch.from_numpy(self.adv[start:start + 64]).float()

    def update(self, idx, ret, values):
        for epoch in range(4):
            adv = self.latest(idx)
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            win = self.window(8)
            win = (win - win.mean()) / (win.std() + 1e-8)
            target = ret.detach()
            target = target.clamp(-10.0, 10.0)
            err = ret - values
            err = (err - err.mean()) / (err.std() + 1e-8)
            loss = (adv * win * target * err).mean()
            loss.backward()
""",
        ),
        Example(
            note="the caller's object, an attribute alias, and a stored value",
            code="""\
import torch


def update(x, d):
    for t in range(3):
        x = x + d
    return x


class Layer:
    def step(self, d):
        b = self.bias
        b = b + d
        hist = []
        h = torch.zeros(3)
        for t in range(3):
            hist.append(h)
            h = h + 1.0
        return b, hist
""",
        ),
        Example(
            note="autograd: forward() outside no_grad, and a tensor that requires grad",
            code="""\
import torch


class Policy(torch.nn.Module):
    def forward(self, obs):
        pi = self.net(obs)
        pi = torch.tanh(pi)
        w = torch.zeros(3, requires_grad=True)
        for t in range(3):
            w = w * 2.0
        return pi, w
""",
        ),
        Example(
            note="a dtype change: an int tensor times a float, and views",
            code="""\
import torch

counts = torch.zeros(5, dtype=torch.long)
buf = torch.zeros(10, 5)
with torch.no_grad():
    for t in range(10):
        counts = counts * 0.5
        row = buf[t]
        row = row + 1.0
        flat = buf.view(-1)
        flat = flat * 2.0
""",
        ),
        Example(
            note="yielded each step (a generator) or captured by a closure",
            code="""\
import numpy as np


def frames(n):
    img = np.zeros(4)
    for t in range(n):
        yield img
        img = img + 1.0


def make():
    acc = np.zeros(3)
    f = lambda: acc.sum()
    for t in range(3):
        acc = acc + 1.0
    return f
""",
        ),
    )

    # ---------------------------------------------------------------------------------------
    def check(self, node: ast.AST, an: Analysis) -> Iterator[Finding]:
        if isinstance(node, ast.Call):
            yield from self._check_soft_update(node, an)
            yield from self._check_polyak(node, an)
            return
        assert isinstance(node, ast.Assign)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript):
            yield from self._check_whole_write(node, node.targets[0], an)
            return
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return
        x = node.targets[0].id
        value = node.value
        match = self._match(value, x, an)
        if match is None:
            return
        load, operands, fix_data, message, exact = match
        kind = an.kind(load)
        if not kind.known:
            kind = _kind_through_returns(an, load)
        if kind.base not in (TENSOR, NDARRAY):
            return
        if kind.dtype is None and _floating(an, load):
            kind = replace(kind, dtype=FLOATING)
        heat = an.heat(node)
        if heat is None:
            return
        if not an.is_fresh(load) or escapes_before(an, load, node, frozenset({id(load)})):
            return
        if (
            kind.base == TENSOR
            and not an.in_no_grad(node)
            and not (an.grad_free(load) and all(an.grad_free(o) for o in operands))
        ):
            return  # part of an autograd graph: in-place would break backward()
        verdict = self._dtype_verdict(an, kind, fix_data, operands)
        if verdict is None:
            return
        reasons = list(verdict)
        if not exact:
            reasons.append("the in-place form rounds differently")
        if fix_data.form == "chain" and any(_mentions(o, x) for o in operands[1:]):
            reasons.append(f"later operands read `{x}` after it was changed")
        if fix_data.form == "chain" and kind.base == NDARRAY:
            fix = None
        else:
            fix = Fix(safe=not reasons, data=fix_data, reason="; ".join(reasons))
        what = "tensor" if kind.base == TENSOR else "array"
        yield self.report(node, f"{message.format(x=x, what=what)} {heat}", fix)

    def _match(self, value: ast.expr, x: str, an: Analysis) -> Match | None:
        # EMA: t = a * t + b * s
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            target = ast.Name(id=x, ctx=ast.Load())
            for t_side, s_side in (("left", "right"), ("right", "left")):
                t_part = _split_product(getattr(value, t_side), target)
                s_expr = getattr(value, s_side)
                if t_part is None or not isinstance(s_expr, ast.BinOp) or not isinstance(s_expr.op, ast.Mult):
                    continue
                a, a_side = t_part
                if _mentions(a, x) or _mentions(s_expr, x):
                    continue
                load = getattr(getattr(value, t_side), "right" if a_side == "left" else "left")
                for b_side in ("left", "right"):
                    b = getattr(s_expr, b_side)
                    s = getattr(s_expr, "right" if b_side == "left" else "left")
                    lerp = _complement(b, a)
                    data = InPlaceFix(
                        "ema", lerp=lerp, a=("value", t_side, a_side), b=("value", s_side, b_side),
                        s=("value", s_side, "right" if b_side == "left" else "left"),
                        alpha=an.kind(b).is_python_scalar,
                    )
                    if lerp or an.kind(b).is_python_scalar or an.kind(s).base != TENSOR:
                        msg = "exponential moving average of `{x}` allocates three temporaries"
                        msg += ": `{x}.lerp_(s, w)`" if lerp else ": `{x}.mul_(a).add_(s, alpha=b)`"
                        msg += " is " + self.speedups["lerp"].claim
                        return load, [a, b, s], data, msg, False
        # x = x <op> e  /  x = e <op> x
        if isinstance(value, ast.BinOp) and type(value.op) in _OPS:
            sym, _ = _OPS[type(value.op)]
            if isinstance(value.left, ast.Name) and value.left.id == x and not _mentions(value.right, x):
                return value.left, [value.right], InPlaceFix("aug", op=sym, operand=("value", "right")), (
                    f"`{{x}} = {{x}} {sym} ...` allocates a new {{what}}: `{{x}} {sym}= ...` is "
                    f"{self.speedups['inplace'].claim}"), True
            if (
                isinstance(value.op, _COMMUTATIVE) and isinstance(value.right, ast.Name)
                and value.right.id == x and not _mentions(value.left, x)
            ):
                return value.right, [value.left], InPlaceFix("aug", op=sym, operand=("value", "left")), (
                    f"`{{x}} = ... {sym} {{x}}` allocates a new {{what}}: `{{x}} {sym}= ...` is "
                    f"{self.speedups['inplace'].claim}"), True
            chain = self._chain(value, x)
            if chain is not None:
                load, steps = chain
                data = InPlaceFix("chain", ops=tuple(m for m, _ in steps),
                                  operands=tuple(("value", *p) for _, p in steps))
                operands = [self._at(value, p) for _, p in steps]
                return load, operands, data, (
                    "`{x} = ({x} ...) ...` allocates a temporary per operator: chain in-place ops "
                    f"(`{{x}}.{steps[0][0]}(...).{steps[1][0]}(...)`)"), True
        # x = x.clamp(...), x = torch.relu(x), x = np.clip(x, lo, hi)
        if isinstance(value, ast.Call):
            return self._match_call(value, x, an)
        return None

    @staticmethod
    def _at(node: ast.AST, path: Path) -> ast.expr:
        for step in path:
            node = getattr(node, step)
        return node  # type: ignore[return-value]

    def _chain(self, value: ast.BinOp, x: str) -> tuple[ast.Name, list[tuple[str, Path]]] | None:
        steps: list[tuple[str, Path]] = []
        path: Path = ()
        node: ast.expr = value
        while isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            steps.append((_OPS[type(node.op)][1], path + ("right",)))
            path = path + ("left",)
            node = node.left
        if not (isinstance(node, ast.Name) and node.id == x) or not 2 <= len(steps) <= 3:
            return None
        steps.reverse()
        return node, steps

    def _match_call(self, value: ast.Call, x: str, an: Analysis) -> Match | None:
        func = value.func
        if any(isinstance(a, ast.Starred) for a in value.args):
            return None
        # method form: x.clamp(...)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == x:
            meth = func.attr
            if meth in K.TENSOR_INPLACE_UNARY and an.kind(func.value).base == TENSOR:
                others = list(value.args) + [kw.value for kw in value.keywords]
                if any(_mentions(o, x) for o in others):
                    return None
                return func.value, others, InPlaceFix("method", method=meth + "_"), (
                    f"`{{x}} = {{x}}.{meth}(...)` allocates a new tensor: `{{x}}.{meth}_(...)` works in place"), True
            return None
        q = an.qualname(func)
        if q is None or not value.args or not isinstance(value.args[0], ast.Name) or value.args[0].id != x:
            return None
        mod, _, name = q.rpartition(".")
        rest = list(value.args[1:]) + [kw.value for kw in value.keywords]
        if any(_mentions(o, x) for o in rest):
            return None
        if mod in ("torch", "torch.nn.functional") and name in K.TENSOR_INPLACE_UNARY:
            if any(kw.arg in ("out", "inplace") for kw in value.keywords):
                return None
            if an.kind(value.args[0]).base != TENSOR:
                return None
            return value.args[0], rest, InPlaceFix("function", method=name + "_"), (
                f"`{{x}} = {q.replace('torch.nn.functional', 'F')}({{x}}, ...)` allocates a new tensor: "
                f"`{{x}}.{name}_(...)` works in place"), True
        if q == "numpy.clip" and len(value.args) == 3 and not value.keywords:
            if an.kind(value.args[0]).base != NDARRAY:
                return None
            return value.args[0], rest, InPlaceFix("np_clip"), (
                "`{x} = np.clip({x}, lo, hi)` allocates a new array: pass `out={x}`"), True
        return None

    def _dtype_verdict(self, an: Analysis, kind: Kind, data: InPlaceFix,
                       operands: list[ast.expr]) -> list[str] | None:
        """``None``: the dtype would change (stay silent); else the reasons the fix is unsafe."""
        xd = kind.dtype
        reasons: list[str] = []
        if xd is None or xd == "bool":
            return None
        form = data.form
        if form in ("method", "function"):
            if xd not in _FLOATISH and data.method not in _INT_OK_METHODS:
                return None
            for o in operands:
                if xd not in _FLOATISH and an.kind(o).dtype in ("float", "number"):
                    return None  # an int tensor clamped to float bounds becomes a float tensor
                if not an.kind(o).is_python_scalar and not (isinstance(o, ast.Constant) and o.value is None):
                    reasons.append("a bound's dtype is not known")
                    break
            return reasons
        if form == "np_clip":
            if xd not in _FLOATISH:
                return None
            if not all(an.kind(o).is_python_scalar for o in operands):
                reasons.append("bounds that are arrays may broadcast or change the dtype")
            return reasons
        if form in ("ema",) and xd not in _FLOATISH:
            return None
        if form == "aug":
            divides = [data.op == "/"]
        elif form == "chain":
            divides = [m == "div_" for m in data.ops]
        else:  # ema: a * t + b * s
            divides = [False] * len(operands)
        for division, o in zip(divides, operands, strict=True):
            if division and xd not in _FLOATISH:
                return None  # true division turns integers into floats
            ok = an.kind(o)
            if ok.is_python_scalar:
                if xd in INT_DTYPES and ok.dtype in ("float", "number"):
                    return None
                continue
            if ok.base == kind.base:
                if ok.dtype is None:
                    reasons.append("the operand's dtype is not known")
                elif promote_arrays(xd, ok.dtype) != xd:
                    return None
                if ok.ndim != 0:
                    reasons.append("an array operand may broadcast to a larger shape")
                continue
            if ok.base == SCALAR:
                if ok.dtype != f"np.{xd}":
                    return None  # a NumPy scalar of another dtype promotes the result (NEP 50)
                continue
            if ok.known:
                return None
            reasons.append("the operand's kind is not known")
        return reasons

    # -- soft target update ------------------------------------------------------------------
    def _check_soft_update(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "copy_" and len(node.args) == 1 and not node.keywords):
            return
        target = func.value
        expr = node.args[0]
        if not (isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add)):
            return
        for r_side, s_side in (("left", "right"), ("right", "left")):
            r_part = _split_product(getattr(expr, r_side), target)
            s_prod = getattr(expr, s_side)
            if r_part is None or not isinstance(s_prod, ast.BinOp) or not isinstance(s_prod.op, ast.Mult):
                continue
            c_r, _ = r_part
            for w_side in ("left", "right"):
                w = getattr(s_prod, w_side)
                if not _complement(c_r, w):
                    continue
                s_path = ("args", 0, s_side, "right" if w_side == "left" else "left")
                heat = an.heat(node)
                if heat is None:
                    return
                data = InPlaceFix("soft", target=("func", "value"), s=s_path, w=("args", 0, s_side, w_side))
                yield self.report(
                    node,
                    f"soft target update {heat} builds three temporaries: "
                    f"`{ast.unparse(target)}.lerp_(source, {ast.unparse(w)})` is {self.speedups['lerp'].claim}",
                    Fix(safe=False, data=data, reason="lerp_ rounds differently from a*x + (1-a)*y"),
                )
                return

    def _check_whole_write(self, node: ast.Assign, target: ast.Subscript, an: Analysis) -> Iterator[Finding]:
        """``a[...] = a + e`` (or ``a[:] = ...``, or ``a[...] = old + e`` right after ``old = a.copy()``):
        the sum is built in a temporary, then copied into ``a``; ``a += e`` adds in place. ``a`` is
        changed in place either way, so nobody else's view of it is affected: only the dtype matters."""
        sl = target.slice
        whole = (isinstance(sl, ast.Constant) and sl.value is Ellipsis) or (
            isinstance(sl, ast.Slice) and sl.lower is None and sl.upper is None and sl.step is None)
        value = node.value
        arr = target.value
        if not whole or not isinstance(arr, ast.Name | ast.Attribute) or not isinstance(value, ast.BinOp):
            return
        if type(value.op) not in _OPS:
            return
        sym, _ = _OPS[type(value.op)]
        sides = [("left", "right")] + ([("right", "left")] if isinstance(value.op, _COMMUTATIVE) else [])
        for a_side, e_side in sides:
            a_expr, operand = getattr(value, a_side), getattr(value, e_side)
            if same_expr(a_expr, arr) or self._copy_of(an, a_expr, arr, node):
                break
        else:
            return
        kind = an.kind(arr)
        if kind.base not in (TENSOR, NDARRAY):
            return
        xd = kind.dtype if kind.dtype is not None or not _floating(an, arr) else FLOATING
        if xd not in _FLOATISH:
            return  # an int array: `a[...] = a / n` casts back, `a /= n` raises
        heat = an.heat(node)
        if heat is None:
            return
        ok = an.kind(operand)
        reasons = []
        if not (ok.is_python_scalar or (ok.base in (TENSOR, NDARRAY, SCALAR) and (
                ok.dtype in FLOAT_DTYPES or ok.dtype in INT_DTYPES or ok.dtype == "bool"
                or (ok.dtype or "").removeprefix("np.") in FLOAT_DTYPES | INT_DTYPES))):
            reasons.append("the operand's dtype is not known (a complex one is cast by `[...] =`, refused by `"
                           f"{sym}=`)")
        a = ast.unparse(arr)
        data = InPlaceFix("whole", op=sym, operand=("value", e_side), target=("targets", 0, "value"))
        yield self.report(
            node,
            f"`{a}[...] = ... {sym} ...` builds the result in a temporary, then copies it into `{a}` {heat}: "
            f"`{a} {sym}= ...` is {self.speedups['whole'].claim}",
            Fix(safe=not reasons, data=data, reason="; ".join(reasons)),
        )

    @staticmethod
    def _copy_of(an: Analysis, name: ast.expr, arr: ast.expr, update: ast.stmt) -> bool:
        """Is ``name`` bound, by the statement right before ``update``, to a copy of ``arr``
        (``old = self.m.copy()``), so that it holds exactly ``arr``'s values at ``update``?"""
        if not isinstance(name, ast.Name):
            return False
        bindings = an.bindings_of(name)
        if len(bindings) != 1 or bindings[0].how != "assign" or bindings[0].path:
            return False
        prev = bindings[0].stmt
        block = next((b for f in ("body", "orelse", "finalbody")
                      if isinstance(b := getattr(an.parent(update), f, None), list) and update in b), None)
        if block is None or prev not in block or block.index(update) != block.index(prev) + 1:
            return False
        v = bindings[0].value
        if not isinstance(v, ast.Call) or v.args or v.keywords:
            return False
        f = v.func
        return isinstance(f, ast.Attribute) and f.attr in ("copy", "clone") and same_expr(f.value, arr)

    def _check_polyak(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        """``t.mul_(a)`` followed by ``t.add_((1 - a) * s)``: the soft update in two in-place steps, with
        a temporary for ``(1 - a) * s``; ``t.lerp_(s, 1 - a)`` is one pass and no temporary."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "add_" and len(node.args) == 1
                and not node.keywords):
            return
        stmt = an.parent(node)
        if not isinstance(stmt, ast.Expr) or stmt.value is not node:
            return
        block = next((b for f in ("body", "orelse", "finalbody")
                      if isinstance(b := getattr(an.parent(stmt), f, None), list) and stmt in b), None)
        if block is None or block.index(stmt) == 0:
            return
        prev = block[block.index(stmt) - 1]
        target = func.value
        if not (isinstance(prev, ast.Expr) and isinstance(prev.value, ast.Call)):
            return
        mul = prev.value
        if not (isinstance(mul.func, ast.Attribute) and mul.func.attr == "mul_" and len(mul.args) == 1
                and not mul.keywords and same_expr(mul.func.value, target)):
            return
        a = mul.args[0]
        prod = node.args[0]
        if not (isinstance(prod, ast.BinOp) and isinstance(prod.op, ast.Mult)):
            return
        roots = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        for w_side, s_side in (("left", "right"), ("right", "left")):
            w, src = getattr(prod, w_side), getattr(prod, s_side)
            if not (_complement(w, a) or _complement(a, w)):
                continue
            if any(isinstance(n, ast.Name) and n.id in roots for n in ast.walk(src)) or any(
                    isinstance(n, ast.Call) for n in ast.walk(a)):
                return  # the source reads the target after mul_ changed it, or the factor is recomputed
            heat = an.heat(node)
            if heat is None:
                return
            t = ast.unparse(target)
            data = InPlaceFix("polyak", s=("args", 0, s_side), w=("args", 0, w_side))
            yield self.report(
                node,
                f"polyak update {heat}: `{t}.mul_({ast.unparse(a)})` then `.add_({ast.unparse(prod)})` makes a "
                f"temporary and two passes; `{t}.lerp_({ast.unparse(src)}, {ast.unparse(w)})` is "
                f"{self.speedups['polyak'].claim}",
                Fix(safe=False, data=data, reason="lerp_ rounds differently from t*a + (1-a)*s, and needs s "
                    "of t's dtype", anchors=(self.anchor(prev, "remove"),)),
            )
            return

    # -- fix ----------------------------------------------------------------------------------
    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        lib = ctx.cst  # the libcst module
        data = fix.data
        assert isinstance(data, InPlaceFix)
        form = data.form
        if form == "whole":
            assign = cast("cst.Assign", node)
            arr = cast("cst.Subscript", assign.targets[0].target).value
            op = getattr(lib, _AUG[data.op])
            return lib.AugAssign(target=arr, operator=op(), value=_bare(lib, follow(node, data.operand)))
        if form == "polyak":
            if anchor == "remove":  # the `t.mul_(a)` statement; a comment there keeps both halves as they are
                return None if "#" in ctx.code(node) else lib.RemovalSentinel.REMOVE
            add = cast("cst.Call", node)
            target = cast("cst.Attribute", add.func).value
            return ctx.expr("{t}.lerp_({s}, {w})", t=target, s=_bare(lib, follow(node, data.s)),
                            w=_bare(lib, follow(node, data.w)))
        if form == "soft":
            target = follow(node, data.target)
            return ctx.expr("{t}.lerp_({s}, {w})", t=target, s=_bare(lib, follow(node, data.s)),
                            w=_bare(lib, follow(node, data.w)))
        assign = cast("cst.Assign", node)
        target = assign.targets[0].target
        value = assign.value
        if form == "aug":
            op = getattr(lib, _AUG[data.op])
            return lib.AugAssign(target=target, operator=op(), value=_bare(lib, follow(node, data.operand)))
        if form == "chain":
            out: cst.BaseExpression = target
            for method, path in zip(data.ops, data.operands, strict=True):
                out = ctx.expr(f"{{x}}.{method}({{a}})", x=out, a=_bare(lib, follow(node, path)))
            return lib.Expr(value=out)
        call = cast("cst.Call", value)
        if form == "method":
            return lib.Expr(value=call.with_changes(func=call.func.with_changes(attr=lib.Name(data.method))))
        if form == "function":
            args = list(call.args[1:])
            if args:
                args[-1] = args[-1].with_changes(comma=lib.MaybeSentinel.DEFAULT)
            return lib.Expr(value=lib.Call(func=lib.Attribute(value=target, attr=lib.Name(data.method)), args=args))
        if form == "np_clip":
            return lib.Expr(value=ctx.with_keyword(call, "out", target))
        if form == "ema":
            t = target
            s = _bare(lib, follow(node, data.s))
            b = _bare(lib, follow(node, data.b))
            if data.lerp:
                return lib.Expr(value=ctx.expr("{t}.lerp_({s}, {w})", t=t, s=s, w=b))
            a = _bare(lib, follow(node, data.a))
            if data.alpha:
                return lib.Expr(value=ctx.expr("{t}.mul_({a}).add_({s}, alpha={b})", t=t, a=a, s=s, b=b))
            return lib.Expr(value=ctx.expr("{t}.mul_({a}).add_({b} * {s})", t=t, a=a, s=ctx.atom(s), b=ctx.atom(b)))
        return None


def _bare(cst: Any, node: Any) -> Any:
    """Drop redundant parentheses around an expression that becomes a call argument."""
    if getattr(node, "lpar", None) and isinstance(node, cst.BinaryOperation | cst.UnaryOperation | cst.Comparison):
        return node.with_changes(lpar=[], rpar=[])
    return node

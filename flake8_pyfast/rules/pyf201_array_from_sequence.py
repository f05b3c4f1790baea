"""PYF201: an array or tensor built from a Python sequence in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.alias import LOCAL, escape_of
from flake8_pyfast.analysis.kinds import NDARRAY, SCALAR, TENSOR
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


def _kept_by_comprehension(an: Analysis, node: ast.expr) -> bool:
    """Is ``node`` an item (directly, or inside a dict/list/tuple display) of a comprehension's result?
    Then every iteration's object lives on in the result, side by side: one buffer, or one constant
    built once, would make them all the same object."""
    child: ast.AST = node
    parent = an.parent(child)
    while isinstance(parent, ast.Dict | ast.List | ast.Tuple | ast.Set | ast.IfExp | ast.Starred):
        if isinstance(parent, ast.IfExp) and parent.test is child:
            return False
        if isinstance(parent, ast.Dict) and child not in parent.values:
            return False
        child, parent = parent, an.parent(parent)
    if isinstance(parent, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        return parent.elt is child
    if isinstance(parent, ast.DictComp):
        return child is parent.value or child is parent.key
    return False


_SLOWER = "slower"  # items for which the NumPy route measured slower (NumPy scalars, tensors)
_UNSURE = "unsure"  # items that may be NumPy scalars (``list(ndarray)`` of unknown dimensions)


def _item_verdict(an: Analysis, item: ast.expr) -> str | None:
    k = an.kind(item)
    if k.base == TENSOR or (k.base == SCALAR and (k.dtype or "").startswith("np.")):
        return _SLOWER
    return None


def _spread_verdict(an: Analysis, seq: ast.expr) -> str | None:
    """The items of ``seq`` spread into a list (``list(seq)``, ``lst.extend(seq)``, ``lst += seq``)."""
    if isinstance(seq, ast.Call) and an.qualname(seq.func) == "builtins.list" and len(seq.args) == 1:
        seq = seq.args[0]
    if isinstance(seq, ast.List | ast.Tuple):
        return _worst(_item_verdict(an, e) for e in seq.elts)
    if isinstance(seq, ast.ListComp | ast.GeneratorExp):
        return _item_verdict(an, seq.elt)
    k = an.kind(seq)
    if k.base == NDARRAY:
        return _SLOWER if k.ndim == 1 else None if (k.ndim or 0) > 1 else _UNSURE
    if k.base == TENSOR:
        return _SLOWER
    return None


def _worst(verdicts: Iterator[str | None]) -> str | None:
    found = {v for v in verdicts if v is not None}
    return _SLOWER if _SLOWER in found else _UNSURE if found else None


def _numpy_route_doubtful(an: Analysis, arg: ast.expr) -> bool:
    """Are the items of ``arg`` (a display, a comprehension, or a list name built in this function)
    NumPy scalars or tensors, or possibly so? Converting those through NumPy measured slower (a list
    of NumPy float64 scalars: 0.75x; a list of 0-d tensors: slower too, `torch.stack` is the form)."""
    if isinstance(arg, ast.List | ast.Tuple | ast.ListComp | ast.GeneratorExp):
        return _spread_verdict(an, arg) is not None
    if not isinstance(arg, ast.Name):
        return False
    verdicts: list[str | None] = []
    for b in an.bindings_of(arg):
        v = b.value
        if b.how == "assign" and not b.path and v is not None:
            verdicts.append(_spread_verdict(an, v))
        elif b.how == "aug" and isinstance(v, ast.BinOp):
            verdicts.append(_spread_verdict(an, v.right))
    for load in an.scope_of(arg).loads.get(arg.id, ()):
        attr = an.parent(load)
        call = an.parent(attr) if isinstance(attr, ast.Attribute) else None
        if not (isinstance(call, ast.Call) and isinstance(attr, ast.Attribute) and call.func is attr and call.args):
            continue
        if attr.attr == "append":
            verdicts.append(_item_verdict(an, call.args[0]))
        elif attr.attr == "insert" and len(call.args) == 2:
            verdicts.append(_item_verdict(an, call.args[1]))
        elif attr.attr == "extend":
            verdicts.append(_spread_verdict(an, call.args[0]))
    return _worst(iter(verdicts)) is not None


class ArrayFromSequence(Rule):
    code = "PYF201"
    name = "array-from-sequence-in-loop"
    summary = "`np.array([...])` / `torch.tensor([...])` every step: a buffer if it stays local, NumPy for tensors"
    node_types = (ast.Call,)
    harness_phase = "simulation"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "prealloc": Speedup(1.11, 1.08, 1.14),
        "reuse": Speedup(2.15, 2.06, 2.24),
        "numpy": Speedup(6.55, 6.19, 6.92),
        "numpy_floats": Speedup(2.83, 2.75, 2.96),
    }

    what = """
Finds `np.array`, `np.asarray`, `torch.tensor`, `torch.as_tensor` and the legacy
`torch.Tensor`/`torch.FloatTensor`/... built from a Python sequence (a list or tuple display, a
comprehension, a generator, or a name holding a list/tuple) in code that runs every step.
A NumPy array is reported only for a list or tuple display (`np.array([a, b, c])`: a list built
beforehand, converted once, is already the fast form), and only where it stays inside the step:
the analysis follows where the new object goes (names, views, containers, tuple unpacking,
functions of the module) and stays silent when it is returned, stored on an attribute, appended,
put in a dict, yielded, captured or read again next iteration. A tensor is reported wherever it
goes: the advice for it needs no buffer.
"""
    why = """
Converting a Python sequence walks it item by item, infers a dtype and shape, and allocates a
new array every step. For the small vectors of RL code that overhead dominates. Measured by
`bench/pattern_speed.py` for four attributes into a float32 buffer allocated once:
{speedup:reuse} when the buffer itself is used. An array that leaves the step cannot be that
buffer (whoever keeps it would see it change); writing into a buffer and returning a copy
measured only {speedup:prealloc}: for a handful of values (a returned observation) that is
too little to be worth a finding, so a returned display like `np.array([a, b, c])` is not
reported. Nor is a list built beforehand and converted once (rows appended, a replay `sample()`):
writing the rows into a preallocated buffer instead measured slower ({speedup:prealloc} here, and
PYF203's `prealloc` pair for 1000 rows). `torch.tensor` of Python lists is slower than going through NumPy
(`torch.from_numpy(np.array(seq, dtype=np.float32))`): {speedup:numpy_floats} for 4 floats, and of
a list of arrays much slower still, {speedup:numpy} for 32 arrays of 4 (PyTorch warns about it).
"""
    example = """
import numpy as np


class Walker:
    def step(self, action):
        offset = np.array([self.target_x - self.x, self.target_y - self.y])
        self.dist = float(np.sqrt(np.dot(offset, offset)))
"""
    use_instead = """
import numpy as np


class Walker:
    def __init__(self):
        self._offset = np.empty(2)

    def step(self, action):
        offset = self._offset
        offset[0], offset[1] = self.target_x - self.x, self.target_y - self.y
        self.dist = float(np.sqrt(np.dot(offset, offset)))
"""
    fix_safety = "No automatic fix: a reused buffer is shared state, and only you know who keeps the result."
    when_wrong = """
Silent when the argument is already an array or tensor, when the result goes straight into a
preallocated buffer (`buf[i] = np.array(...)`), when it is computed once under an
`if cache is None:` guard, and when the array escapes (returned, stored, appended, kept as
`prev` for next step). A call the analysis cannot see into is assumed to read its argument
(`env.step(a)`); methods named for keeping it (`append`, `add_all`, `store_transition`, `push`,
`put`, `set_...`, `record`, ...) are assumed to keep it. A constant array
(`np.array([0.0, 0.0, 1.0])`) used only in the step is reported with the advice to build it once.
"""

    bad = (
        Example(
            note="used in the step only: a dot product, a constant",
            code="""\
import numpy as np


class Walker:
    def step(self, action):
        offset = np.array([self.target_x - self.x, self.target_y - self.y])
        self.dist = float(np.sqrt(np.dot(offset, offset)))
        up = np.array([0.0, 0.0, 1.0])
        self.upright = float(np.dot(self.up_vector, up)) > 0.85
""",
            expect=((6, "PYF201"), (8, "PYF201")),
        ),
        Example(
            note="tensors from Python lists: convert through NumPy, wherever the tensor goes",
            code="""\
import torch

for t in range(100):
    batch = torch.tensor([s.reward for s in samples])
    goal = torch.tensor((0.0, 0.0, 1.0))
    loss = (batch - goal[2]).pow(2).mean()
""",
            expect=((4, "PYF201"), (5, "PYF201")),
        ),
        Example(
            note="a replay batch returned from a list of arrays",
            code="""\
import torch


def train(buffer, model, updates):
    for _ in range(updates):
        states = []
        for s, a, r in buffer.sample(64):
            states.append(s)
        batch = torch.tensor(states, dtype=torch.float32)
        model.update(batch)
""",
            expect=((9, "PYF201"),),
        ),
    )
    good = (
        Example(
            note="a batch assembled from a list of rows and converted once: already the fast form",
            code="""\
import numpy as np


class Replay:
    def sample(self, idx):
        rows = [self.storage[i] for i in idx]
        obs = np.array([r[0] for r in rows], dtype=np.float32)
        rew = np.array(rows, dtype=np.float32)
        return obs, rew
""",
        ),
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
        Example(
            note="returned to a caller that keeps it in a history: a buffer would alias every entry",
            code="""\
import numpy as np


class PointEnv:
    def _get_obs(self):
        return np.array([self.x, self.y, self.vx, self.vy], dtype=np.float32)

    def step(self, action):
        self.vx, self.vy = action
        obs = self._get_obs()
        self.history.append(obs)
        return obs, 0.0, False, {}
""",
        ),
        Example(
            note="items of a comprehension's result live side by side; NumPy scalars and tensors as items",
            code="""\
import numpy as np
import torch


def rollout(env, policy, steps, rows):
    for t in range(steps):
        targets = [{"pos": np.array([r[0], r[1], r[2]]), "up": np.array([0.0, 0.0, 1.0])} for r in rows]
        env.track(targets)
        returns = []
        to_go = np.asarray(env.rewards, dtype=np.float64)[::-1].cumsum()[::-1]
        returns += list(to_go)
        weights = torch.as_tensor(returns, dtype=torch.float32)
        probs = torch.softmax(policy(env.obs), dim=-1)
        picked = torch.tensor([probs[0, a] for a in env.legal])
        policy.update(weights, picked)
""",
        ),
        Example(
            note="kept across steps and differenced, stored, appended",
            code="""\
import numpy as np


def rollout(env, policy, steps, dt):
    prev = np.array([env.x, env.y])
    speeds = []
    for t in range(steps):
        env.step(policy(prev))
        cur = np.array([env.x, env.y])
        speeds.append(np.linalg.norm(cur - prev) / dt)
        prev = cur
        env.waypoints.append(np.array([env.goal_x, env.goal_y]))
        env.anchor = np.array([env.x, 0.0])
    return speeds
""",
        ),
        Example(
            note="handed to a method named for keeping it (a path builder, a replay buffer): it may be stored",
            code="""\
import numpy as np


def collect(env, policy, builder, memory, steps):
    obs = env.reset()
    for _ in range(steps):
        action = policy(obs)
        nxt, reward, done, info = env.step(action)
        terminal = np.array([done])
        builder.add_all(observations=obs, rewards=np.array([reward]), terminals=terminal)
        memory.store_transition(obs, np.array([reward, float(done)]))
        obs = nxt
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
        if q.startswith("torch"):
            if _constant_display(arg):
                if escape_of(an, node) != LOCAL or _kept_by_comprehension(an, node):
                    return  # shared by whoever keeps it: one object built once would alias them
                moved = isinstance(parent, ast.Attribute) and parent.attr in ("to", "cuda")
                once = "build it once per device, outside" if moved else "build it once, outside"
                msg = f"`{describe(q)}()` of a constant {heat} builds a tensor every time: {once}"
            else:
                if _numpy_route_doubtful(an, arg):
                    return  # NumPy scalars or tensors: the NumPy route measured slower for them
                msg = (
                    f"`{describe(q)}()` of a Python sequence {heat} converts it item by item: convert it with "
                    f"NumPy first, `torch.from_numpy(np.array(seq, dtype=...))` "
                    f"({self.speedups['numpy_floats'].claim} for 4 floats, "
                    f"{self.speedups['numpy'].claim} for 32 arrays)"
                )
            yield self.report(node, msg)
            return
        if not isinstance(arg, ast.List | ast.Tuple):
            # a list or comprehension built beforehand (rows appended, a replay batch): converting it
            # once is already the fast form; writing the rows into a preallocated buffer measured
            # slower (bench/pattern_speed.py PYF203 `prealloc`)
            return
        # a buffer (or one constant) is only right for an array that dies with the step
        escape = escape_of(an, node)
        if escape != LOCAL or _kept_by_comprehension(an, node):
            return
        if _constant_display(arg):
            msg = f"`{describe(q)}()` of a constant {heat} builds an array every time: build it once, outside"
        else:
            msg = (
                f"`{describe(q)}()` of a Python sequence {heat} allocates an array every time, used only here: "
                f"preallocate a buffer once and write into it ({self.speedups['reuse'].claim})"
            )
        yield self.report(node, msg)

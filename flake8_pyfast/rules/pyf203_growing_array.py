"""PYF203: an array re-bound to a concatenation of itself, again and again (quadratic growth)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.astutil import same_expr
from flake8_pyfast.model import Example, Finding
from flake8_pyfast.rule import Rule, Speedup
from flake8_pyfast.rules._shared import describe

if TYPE_CHECKING:
    from flake8_pyfast.analysis import Analysis

#: joiners whose first argument is a sequence of pieces
_JOINERS = frozenset({"numpy.concatenate", "numpy.vstack", "numpy.hstack", "numpy.row_stack",
                      "numpy.column_stack", "torch.cat", "torch.concat", "torch.concatenate",
                      "torch.vstack", "torch.hstack"})
_APPEND = "numpy.append"  # np.append(arr, values): either side may be the growing array
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def _pieces(node: ast.Call, q: str) -> list[ast.expr]:
    if q == _APPEND:
        return list(node.args[:2])
    first = node.args[0] if node.args else None
    return list(first.elts) if isinstance(first, ast.List | ast.Tuple) else []


def _walk(nodes: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node under ``nodes``, not entering nested functions or classes."""
    stack: list[ast.AST] = list(nodes)
    while stack:
        n = stack.pop()
        yield n
        stack.extend(c for c in ast.iter_child_nodes(n) if not isinstance(c, _SCOPES))


def _targets(stmt: ast.AST) -> list[ast.expr]:
    """What ``stmt`` (re)binds: assignment targets (tuples flattened), ``for`` targets, ``del``."""
    if isinstance(stmt, ast.Assign):
        raw = list(stmt.targets)
    elif (isinstance(stmt, ast.AnnAssign) and stmt.value is not None) or isinstance(
            stmt, ast.For | ast.AsyncFor | ast.comprehension | ast.NamedExpr):
        raw = [stmt.target]
    elif isinstance(stmt, ast.Delete):
        raw = list(stmt.targets)
    elif isinstance(stmt, ast.withitem) and stmt.optional_vars is not None:
        raw = [stmt.optional_vars]
    else:
        return []
    out: list[ast.expr] = []
    while raw:
        t = raw.pop()
        if isinstance(t, ast.Tuple | ast.List):
            raw.extend(t.elts)
        elif isinstance(t, ast.Starred):
            raw.append(t.value)
        else:
            out.append(t)
    return out


def _mentions(expr: ast.AST, target: ast.expr) -> bool:
    return any(same_expr(n, target) for n in ast.walk(expr))


class GrowingArray(Rule):
    code = "PYF203"
    name = "growing-array"
    summary = "An array re-bound to `np.concatenate`/`np.append`/`torch.cat` of itself in a loop or every step"
    hot_only = True
    supersedes = ("PYF201",)
    node_types = (ast.Call,)
    harness_phase = "conversion"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "grow": Speedup(11.9, 10.9, 13.3),
        "prealloc": Speedup(0.813, 0.785, 0.856),
    }

    what = """
Finds an array or tensor re-bound to a concatenation of itself, where that repeats:
`x = np.append(x, v)`, `x = np.concatenate((x, v))`, `x = np.vstack([x, row])`,
`x = torch.cat([x, v])` inside a loop; and the same on an attribute or a container entry in a
per-step function, which repeats on every call: `self.x = np.concatenate((self.x, new))`,
`d[k] = torch.cat([d[k], v])`.
"""
    why = """
NumPy arrays and tensors cannot grow in place: each concatenation allocates a new array and copies
everything collected so far into it, so `n` growth steps copy O(n^2) elements (a 10,000-step
rollout copies ~50 million rows). Appending the pieces to a Python list and joining them once
costs one copy per piece. Measured by `bench/pattern_speed.py` for 1000 steps of 8 floats: a list
joined once instead of growing by `np.concatenate`, {speedup:grow}, and the gap widens with the
length. Preallocating an array and writing rows by index is no better than the list joined once
(list vs preallocated rows: {speedup:prealloc}), so pyfast does not advise it and does not report
lists that are converted once after a loop.
"""
    example = """
import numpy as np

trajectory = np.empty((0, 3))
for t in range(num_steps):
    obs = env.step(policy(obs))
    trajectory = np.concatenate((trajectory, obs[None]))
"""
    use_instead = """
import numpy as np

rows = []
for t in range(num_steps):
    obs = env.step(policy(obs))
    rows.append(obs)
trajectory = np.stack(rows)  # np.concatenate(rows) for pieces of several rows; torch.stack/torch.cat for tensors
"""
    fix_safety = "No automatic fix: where the joined array is read, and in which shape, is for you to decide."
    when_wrong = """
Silent when the growth cannot pile up: the accumulator is re-created unconditionally in the same
loop iteration or function call (`x = np.empty(0)` at the top of the loop body), trimmed to a
window (`self.x = self.x[-100:]`), concatenated from other arrays than itself, or grown in set-up
code that runs once (`__init__`, a function that no loop calls). A loop over a handful of pieces
is reported too, but gains little.
"""

    bad = (
        Example(
            code="""\
import numpy as np

trajectory = np.zeros((0, 3))
for t in range(1000):
    trajectory = np.vstack((trajectory, np.random.rand(1, 3)))
""",
            expect=((5, "PYF203"),),
        ),
        Example(
            note="an attribute that grows every step, and a tensor per dict entry",
            code="""\
import numpy as np
import torch


class EpisodeStats:
    def step(self, reward, obs):
        self.rewards = np.append(self.rewards, reward)
        for k, v in obs.items():
            self.history[k] = torch.cat([self.history[k], v[None]])
""",
            expect=((7, "PYF203"), (9, "PYF203")),
        ),
        Example(
            note="re-created per episode, grown per step: the inner loop is quadratic",
            code="""\
import torch


def rollout(env, policy, episodes, horizon):
    for ep in range(episodes):
        hidden = torch.zeros(0, 16)
        obs = env.reset()
        for t in range(horizon):
            out, obs = policy(obs)
            hidden = torch.cat((hidden, out), dim=0)
            if obs is None:
                hidden = torch.zeros(0, 16)
""",
            expect=((10, "PYF203"),),
        ),
    )
    good = (
        Example(
            note="the accumulator is re-created at the top of every iteration",
            code="""\
import numpy as np


def features(frames):
    out = []
    for f in frames:
        row = np.empty(0)
        row = np.append(row, f.mean())
        row = np.append(row, f.std())
        out.append(row)
    return np.stack(out)
""",
        ),
        Example(
            note="collected in a list and converted once (the recommended form)",
            code="""\
import numpy as np
import torch


def rollout(env, policy, num_steps):
    obs_list, rewards = [], []
    for t in range(num_steps):
        obs, r = env.step(policy(obs))
        obs_list.append(obs)
        rewards.append(r)
    return torch.stack(obs_list), np.array(rewards)
""",
        ),
        Example(
            note="concatenating different arrays, and growth once in a constructor",
            code="""\
import numpy as np


class Obs:
    def __init__(self, low, high):
        self.bounds = np.zeros((0, 2))
        self.bounds = np.concatenate((self.bounds, np.stack([low, high], axis=1)))

    def step(self, pos, vel):
        for k in range(4):
            state = np.concatenate((pos, vel))
        return state
""",
        ),
        Example(
            note="a sliding window, and one entry per key of a loop",
            code="""\
import numpy as np
import torch


class History:
    def step(self, obs):
        self.frames = np.concatenate((self.frames, obs[None]))
        if len(self.frames) > 4:
            self.frames = self.frames[1:]


def merge(first, second):
    merged = dict(first)
    for k, v in second.items():
        merged[k] = torch.cat([merged[k], v])
    return merged
""",
        ),
        Example(
            note="a local grown once per call of a per-step function",
            code="""\
import numpy as np


def get_obs(self):
    obs = np.asarray(self.pos)
    obs = np.concatenate((obs, self.vel))
    return obs
""",
        ),
    )

    def check(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        q = an.qualname(node.func)
        if q != _APPEND and q not in _JOINERS:
            return
        stmt = an.parent(node)
        if not isinstance(stmt, ast.Assign) or stmt.value is not node or len(stmt.targets) != 1:
            return
        target = stmt.targets[0]
        if not isinstance(target, ast.Name | ast.Attribute | ast.Subscript):
            return
        if not any(same_expr(target, p) for p in _pieces(node, q)):
            return
        where = self._repeats(node, stmt, target, an)
        if where is None:
            return
        shown = ast.unparse(target)
        join = ("`np.concatenate(parts)` (`np.array(parts)` for scalars)" if q == _APPEND
                else f"`{describe(q)}(parts)`")
        once = "after the loop" if where[0] == "loop" else "where it is read"
        yield self.report(
            node,
            f"`{describe(q)}()` grows `{shown}` {where[1]}: every call copies all that was collected so far "
            f"(quadratic); collect the pieces in a list and call {join} once {once} "
            f"({self.speedups['grow'].claim} for 1000 rows of 8 floats)",
        )

    # ------------------------------------------------------------------------------------------
    def _repeats(self, node: ast.Call, stmt: ast.Assign, target: ast.expr,
                 an: Analysis) -> tuple[str, str] | None:
        """Where the growth repeats on the same value: ("loop"|"call", phrase), or ``None``."""
        loops = [lp for lp in an.loops_of(stmt) if isinstance(lp, _LOOPS)]
        element = not isinstance(target, ast.Name)
        names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)} if element else set()
        for loop in reversed(loops):
            if any(same_expr(t, target) for t in _targets(loop)):
                return None  # `for x in xs: x = np.append(x, ...)`: a new value each iteration
            body = [*loop.body]  # type: ignore[attr-defined]
            if element and names & self._bound_in(loop, body, stmt):
                continue  # `for k in keys: d[k] = cat(d[k], ...)`: another entry each iteration
            if self._restarts(body, stmt, target, an):
                return None  # re-created (or trimmed) each iteration: the chain stays short
            if an.heat(node) is None:
                return None  # a loop in set-up code
            return "loop", f"in the loop at line {loop.lineno}"  # type: ignore[attr-defined]
        # no loop repeats it: an attribute / entry of a long-lived object in a per-step function
        if not element:
            return None
        fscope = an.scope_of(node).function_scope()
        if fscope.kind != "function":
            return None
        heat = an.heat(node) if not loops else fscope.hot_reason
        if heat is None or not self._long_lived(target, fscope, an):
            return None
        fbody = list(fscope.node.body)  # type: ignore[attr-defined]
        if self._restarts(fbody, stmt, target, an) or self._trimmed_in_class(target, an, node):
            return None
        return "call", f"on every call ({heat})"

    @staticmethod
    def _bound_in(loop: ast.AST, body: list[ast.stmt], growth: ast.stmt) -> set[str]:
        bound = {t.id for t in _targets(loop) if isinstance(t, ast.Name)}
        for n in _walk(body):
            if n is growth:
                continue
            bound.update(t.id for t in _targets(n) if isinstance(t, ast.Name))
        return bound

    @staticmethod
    def _is_growth(n: ast.AST, target: ast.expr, an: Analysis) -> bool:
        if not (isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)):
            return False
        q = an.qualname(n.value.func)
        return (q == _APPEND or q in _JOINERS) and any(same_expr(target, p) for p in _pieces(n.value, q or ""))

    def _restarts(self, body: list[ast.stmt], growth: ast.stmt, target: ast.expr, an: Analysis) -> bool:
        """Does ``body`` re-create ``target`` unconditionally, or trim it anywhere?"""
        for n in _walk(body):
            if n is growth or self._is_growth(n, target, an):
                continue
            if not any(same_expr(t, target) for t in _targets(n)):
                continue
            value = getattr(n, "value", None)
            if value is not None and _mentions(value, target):
                return True  # `x = x[-k:]`: a window, not a pile
            if n in body:
                return True  # re-created on every pass, before or after the growth
        return False

    @staticmethod
    def _long_lived(target: ast.expr, fscope: object, an: Analysis) -> bool:
        """The object whose attribute/entry grows outlives the call: ``self``, a parameter, a global."""
        root: ast.expr = target
        while isinstance(root, ast.Attribute | ast.Subscript):
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        if an.is_self(root):
            return True
        owner = an.scope_of(root).lookup(root.id)
        if owner is None:
            return False
        if owner is not fscope:
            return True  # a module-level or enclosing name
        return all(b.how == "param" for b in owner.bindings.get(root.id, ()))

    def _trimmed_in_class(self, target: ast.expr, an: Analysis, node: ast.AST) -> bool:
        """``self.x`` cut back to a window in any method of the class."""
        cls = an.class_of(node)
        if cls is None or not isinstance(target, ast.Attribute):
            return False
        for n in ast.walk(cls.node):
            if (isinstance(n, ast.Assign) and not self._is_growth(n, target, an)
                    and any(same_expr(t, target) for t in _targets(n)) and _mentions(n.value, target)):
                return True
        return False

"""PYF203: arrays grown by concatenation, and lists of known length converted after a loop."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.astutil import same_expr
from flake8_pyfast.analysis.kinds import NDARRAY, SEQUENCE, TENSOR
from flake8_pyfast.model import Example, Finding
from flake8_pyfast.rule import Rule, Speedup
from flake8_pyfast.rules._shared import describe

if TYPE_CHECKING:
    from flake8_pyfast.analysis import Analysis

_GROWERS = frozenset({"numpy.append", "numpy.concatenate", "numpy.vstack", "numpy.hstack",
                      "numpy.row_stack", "numpy.column_stack", "torch.cat", "torch.concat",
                      "torch.concatenate", "torch.vstack", "torch.hstack"})
_CONVERTERS = frozenset({"numpy.array", "numpy.asarray", "numpy.stack", "numpy.vstack",
                         "numpy.concatenate", "torch.stack", "torch.tensor", "torch.as_tensor",
                         "torch.cat", "torch.FloatTensor", "torch.Tensor"})


def _has_exit(body: list[ast.stmt]) -> bool:
    """A ``break``/``continue``/``return`` that cuts an iteration short (nested loops excluded)."""
    stack: list[ast.AST] = list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Break | ast.Continue | ast.Return | ast.Raise):
            return True
        if isinstance(n, ast.For | ast.AsyncFor | ast.While):
            stack.extend(n.orelse)
            continue
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(c for c in ast.iter_child_nodes(n) if isinstance(c, ast.stmt | ast.excepthandler))
    return False


class GrowingArray(Rule):
    code = "PYF203"
    name = "growing-array"
    summary = "Arrays grown by `np.append`/`torch.cat` in a loop, or a list of known length converted after it"
    hot_only = False
    supersedes = ("PYF201",)
    node_types = (ast.Call,)
    harness_phase = "conversion"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "grow": Speedup(12.7, 11.2, 13.5),
        "prealloc": Speedup(0.826, 0.788, 0.977),
    }

    what = """
Finds two ways of building an array one piece at a time:
1. `x = np.append(x, v)`, `x = np.concatenate([x, v])`, `x = np.vstack((x, v))`,
   `x = torch.cat([x, v])` inside a loop (or onto an attribute in a per-step method);
2. a list that starts empty, gets one `.append()` per iteration of a loop whose length is known
   (`for t in range(n)`, or over a known array/list), and is converted once after the loop with
   `np.array`, `np.stack`, `torch.stack`, `torch.tensor`, ...
"""
    why = """
Each concatenation copies everything collected so far, so `n` appends cost O(n^2) copying: a
10,000-step rollout copies ~50 million rows. The list-then-convert form is linear but still builds
`n` temporary objects and copies them all again at the end; when the length is known, an array
allocated once and filled in place (`buf[t] = obs`) does one copy per item. Measured by
`bench/pattern_speed.py` for 1000 steps of 8 floats: a list converted once instead of growing by
`np.concatenate`, {speedup:grow}; an array allocated once and filled by index instead of the
list, {speedup:prealloc}. Preallocation's sure gain is memory (no `n` temporary objects); in time,
for small rows, the list converted once is its close competitor.
"""
    example = """
import numpy as np

obs_list = []
for t in range(num_steps):
    obs, reward, done, info = env.step(policy(obs))
    obs_list.append(obs)
batch = np.array(obs_list)
"""
    use_instead = """
import numpy as np

batch = np.empty((num_steps, *env.observation_space.shape), dtype=np.float32)
for t in range(num_steps):
    obs, reward, done, info = env.step(policy(obs))
    batch[t] = obs
"""
    fix_safety = "No automatic fix: the buffer's shape and dtype must come from you."
    when_wrong = """
When the loop can stop early (`break`, `continue`, `return`) or appends only under a condition,
the length is not known up front and the list is the right tool: pyfast stays silent then.
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
            expect=((11, "PYF203"), (11, "PYF203")),
        ),
        Example(
            note="an attribute that grows every step",
            code="""\
import numpy as np


class Logger:
    def step(self, r):
        self.rewards = np.append(self.rewards, r)
""",
            expect=((6, "PYF203"),),
        ),
    )
    good = (
        Example(
            note="unknown length: early exit, or a conditional append",
            code="""\
import numpy as np

def collect(env, n):
    obs_list = []
    for t in range(n):
        obs, done = env.step()
        obs_list.append(obs)
        if done:
            break
    kept = []
    for t in range(n):
        if t % 2:
            kept.append(t)
    return np.array(obs_list), np.array(kept)
""",
        ),
        Example(
            note="concatenating different arrays, or once outside a loop",
            code="""\
import numpy as np

a, b = np.zeros(3), np.ones(3)
c = np.concatenate([a, b])
for t in range(10):
    d = np.concatenate([a, b])
""",
        ),
        Example(
            note="a while loop's length is unknown",
            code="""\
import numpy as np

xs = []
while len(xs) < 10:
    xs.append(1.0)
arr = np.array(xs)
""",
        ),
    )

    def check(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        q = an.qualname(node.func)
        if q in _GROWERS:
            yield from self._check_grow(node, an, q)
        if q in _CONVERTERS:
            yield from self._check_list_then_convert(node, an, q)

    def _check_grow(self, node: ast.Call, an: Analysis, q: str) -> Iterator[Finding]:
        parent = an.parent(node)
        if not isinstance(parent, ast.Assign) or parent.value is not node or len(parent.targets) != 1:
            return
        target = parent.targets[0]
        if not isinstance(target, ast.Name | ast.Attribute) or not node.args:
            return
        first = node.args[0]
        pieces = [first] if q == "numpy.append" else list(first.elts) if isinstance(first, ast.List | ast.Tuple) else []
        if not any(same_expr(target, p) for p in pieces):
            return
        heat = an.heat(node)
        in_loop = bool(an.loops_of(node))
        if heat is None or not (in_loop or isinstance(target, ast.Attribute)):
            return
        yield self.report(
            node,
            f"`{describe(q)}()` grows `{ast.unparse(target)}` {heat}: every call copies all that was "
            f"collected so far (quadratic; a list converted once: {self.speedups['grow'].claim}); "
            "preallocate and fill by index",
        )

    def _check_list_then_convert(self, node: ast.Call, an: Analysis, q: str) -> Iterator[Finding]:
        if not node.args or not isinstance(node.args[0], ast.Name):
            return
        name = node.args[0]
        bindings = an.bindings_of(name)
        if len(bindings) != 1:
            return
        b = bindings[0]
        value = b.value
        if b.how == "assign" and len(b.path) == 1 and isinstance(value, ast.Tuple | ast.List) and b.path[0] is not None:
            value = value.elts[b.path[0]] if b.path[0] < len(value.elts) else None  # a, b = [], []
        elif b.path:
            return
        if b.how != "assign" or not isinstance(value, ast.List) or value.elts:
            return
        init = b.stmt
        conv_stmt = an.stmt_of(node)
        block = self._common_block(an, init)
        if block is None:
            return
        assert isinstance(init, ast.stmt)
        i_init, i_conv = block.index(init), self._index_of_ancestor(an, block, conv_stmt)
        if i_conv is None or i_conv <= i_init:
            return
        loops = [s for s in block[i_init + 1:i_conv] if isinstance(s, ast.For)]
        if len(loops) != 1:
            return
        loop = loops[0]
        if not self._known_length(an, loop.iter) or loop.orelse or _has_exit(loop.body):
            return
        appends = [
            s for s in loop.body
            if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
            and isinstance(s.value.func, ast.Attribute) and s.value.func.attr == "append"
            and isinstance(s.value.func.value, ast.Name) and s.value.func.value.id == name.id
            and len(s.value.args) == 1
        ]
        if len(appends) != 1 or not self._only_appended(an, name, init, node):
            return
        yield self.report(
            node,
            f"list `{name.id}` gets one append per iteration of the loop at line {loop.lineno} (known "
            f"length) and is converted here by `{describe(q)}()`: preallocate the array and write "
            f"`buf[i] = ...` in the loop (saves memory; time: {self.speedups['prealloc'].claim} for rows of 8 floats)",
        )

    @staticmethod
    def _common_block(an: Analysis, init: ast.AST) -> list[ast.stmt] | None:
        parent = an.parent(init)
        if parent is None:
            return None
        for field in ("body", "orelse", "finalbody"):
            block = getattr(parent, field, None)
            if isinstance(block, list) and init in block:
                return block
        return None

    @staticmethod
    def _index_of_ancestor(an: Analysis, block: list[ast.stmt], stmt: ast.AST) -> int | None:
        n: ast.AST | None = stmt
        while n is not None:
            if isinstance(n, ast.stmt) and n in block:
                return block.index(n)
            n = an.parent(n)
        return None

    @staticmethod
    def _known_length(an: Analysis, it: ast.expr) -> bool:
        if isinstance(it, ast.Call):
            q = an.qualname(it.func)
            if q == "builtins.range":
                return True
            if q == "builtins.enumerate" and it.args:
                return GrowingArray._known_length(an, it.args[0])
        if isinstance(it, ast.List | ast.Tuple):
            return not any(isinstance(e, ast.Starred) for e in it.elts)
        return an.kind(it).base in (NDARRAY, TENSOR, SEQUENCE) and not isinstance(it, ast.Call)

    @staticmethod
    def _only_appended(an: Analysis, name: ast.Name, init: ast.AST, conversion: ast.Call) -> bool:
        """Between the ``[]`` and the conversion, the list is only appended to and read."""
        scope = an.scope_of(name).lookup(name.id)
        if scope is None:
            return False
        start = (init.lineno, init.col_offset)  # type: ignore[attr-defined]
        end = (conversion.lineno, conversion.col_offset)
        for load in scope.loads.get(name.id, ()):
            if not start < (load.lineno, load.col_offset) < end:
                continue
            parent = an.parent(load)
            if isinstance(parent, ast.Attribute) and parent.attr in (
                "extend", "insert", "pop", "remove", "clear", "__setitem__", "sort", "reverse",
            ):
                return False
            if isinstance(parent, ast.Subscript) and isinstance(an.parent(parent), ast.Delete):
                return False
        return True

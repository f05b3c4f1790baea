"""PYF301: a branch on a tensor's value in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from flake8_pyfast.analysis.alias import share_loop
from flake8_pyfast.analysis.astutil import const_number
from flake8_pyfast.locator import Locator, follow
from flake8_pyfast.model import Example, Finding, Fix, FixData
from flake8_pyfast.rule import FixContext, Rule, Speedup
from flake8_pyfast.rules._shared import name_is

if TYPE_CHECKING:
    import libcst as cst

    from flake8_pyfast.analysis import Analysis
    from flake8_pyfast.rule import FixResult


@dataclass(frozen=True)
class ClampFix(FixData):
    """``name`` locates, from the ``if``, the variable compared with 1 (it becomes the clamp's target)."""

    name: Locator


_KEYWORDS = {ast.If: "`if`", ast.While: "`while`", ast.IfExp: "conditional expression", ast.Assert: "`assert`"}


def tensor_truth(an: Analysis, expr: ast.expr) -> ast.expr | None:
    """The sub-expression whose tensor value ``bool()`` would be taken when ``expr`` is tested."""
    if isinstance(expr, ast.BoolOp):
        for v in expr.values:
            found = tensor_truth(an, v)
            if found is not None:
                return found
        return None
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return tensor_truth(an, expr.operand)
    if (
        isinstance(expr, ast.Call) and len(expr.args) == 1 and not expr.keywords
        and an.qualname(expr.func) == "builtins.bool"
    ):
        return expr.args[0] if an.kind(expr.args[0]).is_tensor else None
    return expr if an.kind(expr).is_tensor else None


def _scales_by(stmt: ast.stmt, c: str) -> bool:
    """``p.grad.mul_(c)``, ``x *= c``, or a ``for`` loop of those."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        return (
            isinstance(call.func, ast.Attribute) and call.func.attr == "mul_" and len(call.args) == 1
            and not call.keywords and isinstance(call.args[0], ast.Name) and call.args[0].id == c
        )
    if isinstance(stmt, ast.AugAssign):
        return isinstance(stmt.op, ast.Mult) and isinstance(stmt.value, ast.Name) and stmt.value.id == c
    if isinstance(stmt, ast.For) and not stmt.orelse:
        return all(_scales_by(s, c) for s in stmt.body)
    return False


class BranchOnTensor(Rule):
    code = "PYF301"
    name = "branch-on-tensor-value"
    summary = "`if`/`while`/`assert` on a tensor's value in hot code: a GPU sync; clamp instead of branch"
    fixable = "sometimes"
    gpu_only_gain = True
    node_types = (ast.If, ast.While, ast.IfExp, ast.Assert)
    harness_phase = "update"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "clamp": Speedup(1.19, 1.1, 1.28),
        "clamp_inactive": Speedup(0.34, 0.318, 0.4),
    }

    what = """
Finds `if`, `while`, conditional expressions and `assert` whose test takes the truth value of a
tensor (`if clip_coef < 1:`, `if done.any():`, `if not bool(valid.any()):`, `if d:` for a `d`
iterated out of a tensor), in code that runs every step.
"""
    why = """
`bool(tensor)` must know the value now: on a GPU that blocks Python until every queued kernel has
finished and copies the result to the host, so the CPU stops feeding the GPU. Done per step (or
per parameter) it serialises the whole pipeline. The canonical case is gradient clipping:
`if clip_coef < 1: p.grad.mul_(clip_coef)` -> `clip_coef = torch.clamp(clip_coef, max=1.0)` and scale
unconditionally. **On a CPU there is no device to wait for**, and the branch costs one
comparison. Measured by `bench/pattern_speed.py` on the CPU (the gradients of a small MLP), the
clamp instead of the branch: {speedup:clamp} while clipping is active, {speedup:clamp_inactive}
while it is not (the branch then skips the multiplications). This rule is about GPU code.
"""
    example = """
import torch

for epoch in range(update_epochs):
    loss.backward()
    total_norm = torch.norm(torch.stack([p.grad.norm() for p in params]))
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef < 1:
        for p in params:
            p.grad.mul_(clip_coef)
"""
    use_instead = """
import torch

for epoch in range(update_epochs):
    loss.backward()
    total_norm = torch.norm(torch.stack([p.grad.norm() for p in params]))
    clip_coef = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    for p in params:
        p.grad.mul_(clip_coef)
"""
    fix_safety = """
Only the clip idiom is fixed (`if c < 1:` whose body does nothing but scale by `c`). Scaling by 1.0
leaves every value as it was, so the result is the same; the fix is **safe** when `c` is not read
after the `if`, and **unsafe** otherwise (the clamped `c` is then seen by later code). Other
branches need a rewrite only you can do (`torch.where`, masking, or moving the test off the hot path).
"""
    when_wrong = """
Silent for metadata (`.shape`, `.dtype`, `.ndim`, `.dim()`, `.numel()`, `.is_cuda`, `.device`,
`.requires_grad`, `len()`), for values already converted to Python numbers (`.item()`, `float()`,
`.cpu().numpy()`), and for NumPy arrays. On CPU-only code the sync costs nothing: disable the rule
there (`--extend-ignore PYF301`).
"""

    bad = (
        Example(
            code="""\
import torch


def clip_grads(params, max_norm):
    total_norm = torch.norm(torch.stack([torch.norm(p.grad) for p in params]))
    clip_coef = max_norm / (total_norm + 1e-6)
    # scale only when the norm is too large
    if clip_coef < 1:  # sync
        for p in params:
            p.grad.mul_(clip_coef)
    return total_norm


def step(self):
    clip_grads(self.params, 0.5)
""",
            expect=((8, "PYF301"),),
            fixed="""\
import torch


def clip_grads(params, max_norm):
    total_norm = torch.norm(torch.stack([torch.norm(p.grad) for p in params]))
    clip_coef = max_norm / (total_norm + 1e-6)
    # scale only when the norm is too large
    clip_coef = torch.clamp(clip_coef, max=1.0)  # sync
    for p in params:
        p.grad.mul_(clip_coef)
    return total_norm


def step(self):
    clip_grads(self.params, 0.5)
""",
        ),
        Example(
            note="done flags: any(), a per-element branch, a while, an assert, bool()",
            code="""\
import torch

dones = torch.zeros(8, dtype=torch.bool)
for t in range(100):
    if dones.any():
        pass
    for d in dones:
        if d:
            pass
    assert not bool(torch.isnan(dones.float()).any())
    x = 1 if dones[0] else 0
""",
            expect=((5, "PYF301"), (8, "PYF301"), (10, "PYF301"), (11, "PYF301")),
        ),
    )
    good = (
        Example(
            note="metadata, converted values, NumPy arrays, and cold code",
            code="""\
import numpy as np
import torch

x = torch.zeros(3)
a = np.zeros(3)
if x.sum() > 0:
    pass
for t in range(100):
    if x.shape[0] > 1 and x.dim() == 1 and x.is_cuda and len(x) > 2:
        pass
    if x.sum().item() > 0 or float(x.max()) > 1.0:
        pass
    if a.any() or (a > 0).all():
        pass
    if x is None or x.requires_grad:
        pass
""",
        ),
    )

    def check(self, node: ast.AST, an: Analysis) -> Iterator[Finding]:
        test = node.test  # type: ignore[attr-defined]
        culprit = tensor_truth(an, test)
        if culprit is None:
            return
        heat = an.heat(node)
        if heat is None:
            return
        keyword = _KEYWORDS[type(node)]
        fix = self._clip_fix(node, an) if isinstance(node, ast.If) else None
        on_cpu = "on CPU there is no sync to save"
        if fix is not None:  # the clipping branch: what the clamp measured on a CPU
            on_cpu = (f"on CPU the clamp measured {self.speedups['clamp'].claim} with clipping active, "
                      f"{self.speedups['clamp_inactive'].claim} without")
        yield self.report(
            node,
            f"{keyword} on the value of tensor `{ast.unparse(culprit)}` {heat}: a device-to-host sync "
            f"on GPU; prefer clamp/where ({on_cpu})",
            fix,
        )

    def _clip_fix(self, node: ast.If, an: Analysis) -> Fix | None:
        t = node.test
        if node.orelse or not isinstance(t, ast.Compare) or len(t.ops) != 1:
            return None
        left, op, right = t.left, t.ops[0], t.comparators[0]
        where: Locator
        if isinstance(op, ast.Lt) and isinstance(left, ast.Name) and const_number(right) in (1, 1.0):
            c, where = left, ("test", "left")
        elif isinstance(op, ast.Gt) and isinstance(right, ast.Name) and const_number(left) in (1, 1.0):
            c, where = right, ("test", "comparators", 0)
        else:
            return None
        if not all(_scales_by(s, c.id) for s in node.body):
            return None
        if not name_is(an, node, "torch", "torch"):
            return None
        scope = an.scope_of(c).lookup(c.id)
        read_later = False
        if scope is not None:
            end = (node.end_lineno, node.end_col_offset)
            for load in scope.loads.get(c.id, ()):
                after = (load.lineno, load.col_offset) > end
                next_iteration = load is not c and share_loop(an, load, node) and not self._inside(load, node)
                if after or next_iteration:
                    read_later = True
                    break
        return Fix(safe=not read_later, data=ClampFix(where),
                   reason=f"`{c.id}` is read after the `if` and would now be clamped" if read_later else "")

    @staticmethod
    def _inside(n: ast.AST, container: ast.AST) -> bool:
        return (container.lineno, container.col_offset) <= (n.lineno, n.col_offset) and (  # type: ignore[attr-defined]
            n.end_lineno, n.end_col_offset) <= (container.end_lineno, container.end_col_offset)  # type: ignore[attr-defined]

    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        assert isinstance(fix.data, ClampFix)
        branch = cast("cst.If", node)
        body = cast("cst.IndentedBlock", branch.body)
        if any(line.comment is not None for line in body.footer):
            return None  # a comment closing the block would have nowhere to go
        ctx.require_import("torch")
        c = follow(node, fix.data.name)
        clamp = ctx.stmt("{c} = torch.clamp({c}, max=1.0)", c=c)
        # the `if` line's own comment moves to the clamp that replaces it
        clamp = clamp.with_changes(leading_lines=branch.leading_lines, trailing_whitespace=body.header)
        return ctx.flatten([clamp, *body.body])

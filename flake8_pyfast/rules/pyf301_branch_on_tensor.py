"""PYF301: a branch on a tensor's value in hot code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from flake8_pyfast.analysis.alias import share_loop
from flake8_pyfast.analysis.astutil import const_number, same_expr
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


#: torch namespaces whose calls build modules, optimizers or data pipelines: not cheap tensor math
_NOT_MATH = ("torch.nn.", "torch.optim", "torch.utils", "torch.distributions", "torch.cuda", "torch.autograd")


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


def _leaves(stmts: list[ast.stmt]) -> bool:
    """Does the block return, raise, yield, or break/continue the loop around the ``if``?

    Then the test decides control flow on the host (an early exit, a line search accepting a step)
    and no clamp or mask can take its place.
    """
    stack: list[tuple[ast.AST, bool]] = [(s, False) for s in stmts]
    while stack:
        n, in_loop = stack.pop()
        if isinstance(n, ast.Return | ast.Raise | ast.Yield | ast.YieldFrom | ast.Await):
            return True
        if isinstance(n, ast.Break | ast.Continue) and not in_loop:
            return True
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        inner = in_loop or isinstance(n, ast.For | ast.While | ast.AsyncFor)
        stack.extend((c, inner) for c in ast.iter_child_nodes(n))
    return False


def _cheap_math(an: Analysis, expr: ast.expr) -> bool:
    """Arithmetic on tensors and numbers, torch functions and tensor methods only: both sides of a
    ``torch.where`` can be computed for the price of the branch (no model, no environment, no I/O)."""
    for n in ast.walk(expr):
        if isinstance(n, ast.Lambda | ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr):
            return False
        if not isinstance(n, ast.Call):
            continue
        q = an.qualname(n.func)
        if q is not None:
            if not (q.startswith("torch.") and not q.startswith(_NOT_MATH)):
                return False
            continue
        func = n.func
        if not (isinstance(func, ast.Attribute) and an.kind(func.value).is_tensor):
            return False
    return True


def _selectable(an: Analysis, stmts: list[ast.stmt]) -> bool:
    """Statements that only compute tensors or numbers into names (``x = x * (m / n)``, ``c *= 0.5``),
    or scale tensors in place (``p.grad.mul_(c)``, a ``for`` loop of those): what ``torch.where`` or a
    clamped factor can select without asking the device."""
    if not stmts:
        return False
    for st in stmts:
        if isinstance(st, ast.Pass):
            return False  # nothing to select: a placeholder, not a computation
        if isinstance(st, ast.Assign):
            if len(st.targets) != 1 or not isinstance(st.targets[0], ast.Name):
                return False
            k = an.kind(st.value)
            if not (k.is_tensor or k.is_python_scalar) or not _cheap_math(an, st.value):
                return False
        elif isinstance(st, ast.AugAssign):
            if not isinstance(st.target, ast.Name) or not an.kind(st.target).is_tensor:
                return False
            if not _cheap_math(an, st.value):
                return False
        elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
            func = st.value.func
            if not (isinstance(func, ast.Attribute) and func.attr.endswith("_") and func.attr != "copy_"
                    and an.kind(func.value).is_tensor and _cheap_math(an, st.value)):
                return False
        elif isinstance(st, ast.For) and not st.orelse:
            if not _selectable(an, st.body):
                return False
        else:
            return False
    return True


def _any_of(an: Analysis, test: ast.expr) -> ast.expr | None:
    """``m`` of ``m.any()``, ``torch.any(m)``, ``bool(m.any())``."""
    if (isinstance(test, ast.Call) and len(test.args) == 1 and not test.keywords
            and an.qualname(test.func) == "builtins.bool"):
        test = test.args[0]
    if not isinstance(test, ast.Call) or test.keywords:
        return None
    if isinstance(test.func, ast.Attribute) and test.func.attr == "any" and not test.args:
        return test.func.value
    if an.qualname(test.func) == "torch.any" and len(test.args) == 1:
        return test.args[0]
    return None


def _masked_only(an: Analysis, node: ast.If) -> bool:
    """``if m.any(): x[m] = v`` (or ``x[m] *= v``): the masked write alone does the same, since an
    all-false mask writes nothing."""
    mask = _any_of(an, node.test)
    if mask is None or node.orelse or not node.body:
        return False
    for st in node.body:
        if isinstance(st, ast.Assign) and len(st.targets) == 1:
            target: ast.expr = st.targets[0]
        elif isinstance(st, ast.AugAssign):
            target = st.target
        else:
            return False
        if not (isinstance(target, ast.Subscript) and same_expr(target.slice, mask)
                and an.kind(target.value).is_tensor and _cheap_math(an, st.value)):
            return False
    return True


def _per_element(an: Analysis, culprit: ast.expr) -> ast.expr | None:
    """``for d in dones: if d:``: one device read per element, where one ``.tolist()`` would do.
    Returns the tensor iterated (``dones``)."""
    if not isinstance(culprit, ast.Name):
        return None
    bindings = an.bindings_of(culprit)
    if len(bindings) != 1:
        return None
    b = bindings[0]
    if b.how == "for" and isinstance(b.stmt, ast.For) and not b.path and an.kind(b.stmt.iter).is_tensor:
        return b.stmt.iter
    return None


class BranchOnTensor(Rule):
    code = "PYF301"
    name = "branch-on-tensor-value"
    summary = "a tensor-valued `if` in hot code that clamp, `torch.where` or a mask can replace: a GPU sync"
    fixable = "sometimes"
    gpu_only_gain = True
    node_types = (ast.If, ast.IfExp)
    harness_phase = "update"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "clamp": Speedup(1.17, 1.12, 1.2),
        "clamp_inactive": Speedup(0.376, 0.367, 0.389),
    }

    what = """
Finds, in code that runs every step, an `if` (or conditional expression) on a tensor's truth value
that something without a branch can replace: the clip idiom `if clip_coef < 1: p.grad.mul_(clip_coef)`
(a clamp), an `if` whose body only computes tensors or numbers into names or scales tensors in
place (`if norm > max_norm: act = act * (max_norm / norm)`: `torch.where` or a clamped factor),
`if mask.any(): x[mask] = v` (the masked write alone does the same), and a test on each element
of a tensor being iterated (`for d in dones: if d:`: one `.tolist()` instead of a read per element).
Control flow that must be decided on the host is left alone: `while` tests, an `if` whose body
returns, raises, breaks or continues (early stopping, a line search accepting a step, a
conjugate-gradient exit), bodies that call models, environments or anything else, and `assert`s.
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

model.to(device)
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
after the `if`, and **unsafe** otherwise (the clamped `c` is then seen by later code). The other
shapes need a rewrite only you can do (`torch.where`, dropping the `.any()` test, `.tolist()`).
"""
    when_wrong = """
Silent for metadata (`.shape`, `.dtype`, `.ndim`, `.dim()`, `.numel()`, `.is_cuda`, `.device`,
`.requires_grad`, `len()`), for values already converted to Python numbers (`.item()`, `float()`,
`.cpu().numpy()`), for NumPy arrays, and for host control flow (see above). A branch that skips
expensive work most of the time can be cheaper than computing both sides for `torch.where`:
measure. On CPU-only code the sync costs nothing: the rule reports only where the code may run on
a GPU: `[tool.pyfast] target = "gpu"` (or `--pyfast-target gpu`) says so for every file,
`target = "cpu"` silences it, and the default `"auto"` takes a module to be GPU code when it
mentions CUDA or MPS (`torch.cuda`, `.cuda()`, `backends.mps`) or works with a device it is given
(a name, attribute or parameter `device`, `dev`, `*_device`). A CPU-only module that still names a
`device` gets the finding: set `target = "cpu"`.
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
    self.model.to(self.device)  # GPU code: the model lives on a device it is given
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
    self.model.to(self.device)  # GPU code: the model lives on a device it is given
""",
        ),
        Example(
            note="a norm clip torch.where can select, a masked reset, a per-element test, a conditional expression",
            code="""\
import torch


def rollout(policy, obs: torch.Tensor, dones: torch.Tensor, steps: int, device: str = "cuda"):
    finished = 0
    for t in range(steps):
        act: torch.Tensor = policy(obs)
        norm = act.norm()
        if norm > 1.0:
            act = act * (1.0 / norm)
        if dones.any():
            obs[dones] = 0.0
        for d in dones:
            if d:
                finished += 1
        scale = 0.5 if norm > 2.0 else 1.0
    return finished, scale
""",
            expect=((9, "PYF301"), (11, "PYF301"), (14, "PYF301"), (16, "PYF301")),
        ),
    )
    good = (
        Example(
            note="CPU-only code (no CUDA, MPS or device anywhere in the module, target auto): no sync to save",
            code="""\
import torch


def rollout(policy, obs: torch.Tensor, steps: int):
    for t in range(steps):
        act = policy(obs)
        norm = act.norm()
        if norm > 1.0:
            act = act / norm
        obs = obs + act
    return obs
""",
        ),
        Example(
            note="metadata, converted values, NumPy arrays, and cold code",
            code="""\
import numpy as np
import torch

x = torch.zeros(3)
a = np.zeros(3)
if x.sum() > 0:
    y = x + 1.0
for t in range(100):
    if x.shape[0] > 1 and x.dim() == 1 and x.is_cuda and len(x) > 2:
        y = x + 1.0
    if x.sum().item() > 0 or float(x.max()) > 1.0:
        y = x + 1.0
    if a.any() or (a > 0).all():
        b = a + 1.0
    if x is None or x.requires_grad:
        y = x + 1.0
""",
        ),
        Example(
            note="host control flow: a backtracking line search, a conjugate-gradient exit, "
                 "early stopping, a loop test, an assert",
            code="""\
import torch


def line_search(x: torch.Tensor, step: torch.Tensor, target: torch.Tensor, expected: torch.Tensor):
    old_loss = ((x - target) ** 2).mean()
    for n in range(10):
        frac = 0.5 ** n
        new_x = x + frac * step
        new_loss = ((new_x - target) ** 2).mean()
        ratio = (old_loss - new_loss) / (expected * frac)
        if ratio > 0.1 and new_loss < old_loss:
            return True, new_x
    return False, x


def conjugate_gradient(hvp, b: torch.Tensor, iters: int = 10, tol: float = 1e-10):
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = torch.dot(r, r)
    for i in range(iters):
        hp = hvp(p)
        alpha = rr / torch.dot(p, hp)
        x += alpha * p
        r -= alpha * hp
        new_rr = torch.dot(r, r)
        p = r + (new_rr / rr) * p
        rr = new_rr
        if rr < tol:
            break
    return x


def train(epochs: int, kl: torch.Tensor, err: torch.Tensor, target_kl: float):
    for epoch in range(epochs):
        if kl > target_kl:
            print("early stop")
            break
        while err > 1e-3:
            err = err * 0.5
        assert torch.isfinite(err)
""",
        ),
        Example(
            note="a reset decided on the host, and a deliberate fast path that skips a network",
            code="""\
import torch


class Runner:
    def collect(self, steps: int, dones: torch.Tensor, x: torch.Tensor):
        for t in range(steps):
            if dones.any():
                self.obs = self.env.reset()
                self.hidden = torch.zeros(8, 64)
            if (x == 0).all():
                out = x
            else:
                out = self.encoder(x)
            self.use(out)
""",
        ),
    )

    def check(self, node: ast.AST, an: Analysis) -> Iterator[Finding]:
        test = node.test  # type: ignore[attr-defined]
        if not an.accelerator:
            return  # CPU code (target = "cpu", or nothing in the module says GPU): no sync to save
        culprit = tensor_truth(an, test)
        if culprit is None:
            return
        advice = self._advice(node, culprit, an)
        if advice is None:
            return
        heat = an.heat(node)
        if heat is None:
            return
        keyword, how, fix = advice
        on_cpu = "on CPU there is no sync to save"
        if fix is not None:  # the clipping branch: what the clamp measured on a CPU
            on_cpu = (f"on CPU the clamp measured {self.speedups['clamp'].claim} with clipping active, "
                      f"{self.speedups['clamp_inactive'].claim} without")
        yield self.report(
            node,
            f"{keyword} on the value of tensor `{ast.unparse(culprit)}` {heat}: a device-to-host sync "
            f"on GPU; {how} ({on_cpu})",
            fix,
        )

    def _advice(self, node: ast.AST, culprit: ast.expr, an: Analysis) -> tuple[str, str, Fix | None] | None:
        """What replaces the branch (keyword, advice, fix), or ``None`` when the host must decide."""
        if isinstance(node, ast.IfExp):
            arms = [an.kind(node.body), an.kind(node.orelse)]
            if all(k.is_tensor or k.is_python_scalar for k in arms) and _cheap_math(an, node):
                return "conditional expression", "`torch.where(cond, a, b)` selects without it", None
            return None
        assert isinstance(node, ast.If)
        if _leaves(node.body) or _leaves(node.orelse):
            return None
        tensor = _per_element(an, culprit)
        if tensor is not None:
            it = ast.unparse(tensor)
            return "`if`", f"iterate `{it}.tolist()` (one read) instead of reading each element of `{it}`", None
        fix = self._clip_fix(node, an)
        if fix is not None:
            return "`if`", "clamp the factor instead of branching", fix
        if _masked_only(an, node):
            return ("`if`", "the masked assignment alone does the same (an all-false mask writes nothing): "
                    "drop the test", None)
        if _selectable(an, node.body) and (not node.orelse or _selectable(an, node.orelse)):
            return "`if`", "compute both sides and select with `torch.where` (or clamp the factor)", None
        return None

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

"""PYF401: ``BatchSampler(SubsetRandomSampler(...))`` to make minibatches."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.astutil import keyword
from flake8_pyfast.locator import Locator, follow, locate
from flake8_pyfast.model import Example, Finding, Fix, FixData
from flake8_pyfast.rule import FixContext, Rule, Speedup
from flake8_pyfast.rules._shared import name_is

if TYPE_CHECKING:
    import libcst as cst

    from flake8_pyfast.analysis import Analysis
    from flake8_pyfast.rule import FixResult


@dataclass(frozen=True)
class RandpermFix(FixData):
    """Locators from the ``BatchSampler`` call: ``n`` (the ``range``'s length), ``batch_size``."""

    n: Locator
    batch_size: Locator
    drop_last: bool
    numpy: bool = False  # the batches index NumPy arrays: NumPy indices from the same permutation


_BATCH = frozenset({"torch.utils.data.BatchSampler", "torch.utils.data.sampler.BatchSampler"})
_SUBSET = frozenset({"torch.utils.data.SubsetRandomSampler", "torch.utils.data.sampler.SubsetRandomSampler"})


def _simple(node: ast.expr) -> bool:
    """Cheap and side-effect free, so it may be written twice."""
    if isinstance(node, ast.Name | ast.Constant):
        return True
    return isinstance(node, ast.Attribute) and _simple(node.value)


class BatchSamplerMinibatches(Rule):
    code = "PYF401"
    name = "batch-sampler-minibatches"
    summary = "`BatchSampler(SubsetRandomSampler(...))` minibatches: `torch.randperm(n).split(bs)`"
    fixable = "unsafe"
    hot_only = False
    node_types = (ast.Call,)
    harness_phase = "update"
    equivalence = ("exact", "invariants")  # randperm().split() may consume the RNG differently
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "split": Speedup(4.9, 4.58, 5.12),
        "split_numpy": Speedup(2.74, 2.62, 2.94),
        "split_numpy_tensor_indices": Speedup(2.15, 2.08, 2.3),
    }

    what = """
Finds `BatchSampler(SubsetRandomSampler(...), batch_size, drop_last)` from `torch.utils.data`,
the usual way PPO implementations cut a rollout into shuffled minibatches.
"""
    why = """
The samplers are built for `DataLoader`: `SubsetRandomSampler` yields one Python int at a time and
`BatchSampler` collects them into Python lists, which then index tensors through the slow
list-to-index path. `torch.randperm(n).split(batch_size)` makes the permutation in one call and
yields index tensors directly. Measured by `bench/pattern_speed.py` (2048 samples, minibatches
of 64, including the indexing): {speedup:split}. When the batches index NumPy arrays, the fix
turns the same permutation into NumPy indices, {speedup:split_numpy}; tensor indices there would
be converted back on every minibatch ({speedup:split_numpy_tensor_indices} over the samplers, and
no faster than the samplers in `pyfast-check`'s whole update epoch).
"""
    example = """
from torch.utils.data import BatchSampler, SubsetRandomSampler

sampler = BatchSampler(SubsetRandomSampler(range(batch_size)), mini_batch_size, drop_last=True)
for indices in sampler:
    obs_batch = obs[indices]
"""
    use_instead = """
import torch

perm = torch.randperm(batch_size)
sampler = perm[: batch_size // mini_batch_size * mini_batch_size].view(-1, mini_batch_size)
for indices in sampler:
    obs_batch = obs[indices]
"""
    fix_safety = """
Always **unsafe**: the batches are tensors instead of lists (indexing a Python list with them fails),
and the random stream is consumed differently, so the batches differ from the original run's.
Offered only for `SubsetRandomSampler(range(n))` with a literal `drop_last`; with `drop_last=True` the
short last batch is dropped as before.
"""
    when_wrong = """
If the batches index Python lists or other non-tensor containers, keep the samplers or convert
with `.tolist()`.
"""

    bad = (
        Example(
            code="""\
from torch.utils.data.sampler import BatchSampler, SubsetRandomSampler


def minibatches(n, mb):
    return BatchSampler(SubsetRandomSampler(range(n)), mb, drop_last=True)


def minibatches_all(n, mb):
    return BatchSampler(SubsetRandomSampler(range(n)), mb, False)
""",
            expect=((5, "PYF401"), (9, "PYF401")),
            fixed="""\
import torch


def minibatches(n, mb):
    return torch.randperm(n)[: n // mb * mb].view(-1, mb)


def minibatches_all(n, mb):
    return torch.randperm(n).split(mb)
""",
            unsafe=True,
        ),
        Example(
            note="the batches index NumPy arrays: NumPy indices from the same permutation",
            code="""\
import numpy as np
from torch.utils.data import BatchSampler, SubsetRandomSampler


def update(obs: np.ndarray, adv: np.ndarray, n, mb):
    for idx in BatchSampler(SubsetRandomSampler(range(n)), mb, drop_last=True):
        yield obs[idx], adv[idx]
    for idx in BatchSampler(SubsetRandomSampler(range(n)), mb, drop_last=False):
        yield obs[np.asarray(idx)]
""",
            expect=((6, "PYF401"), (8, "PYF401")),
            fixed="""\
import numpy as np
import torch


def update(obs: np.ndarray, adv: np.ndarray, n, mb):
    for idx in torch.randperm(n)[: n // mb * mb].view(-1, mb).numpy():
        yield obs[idx], adv[idx]
    for idx in [b.numpy() for b in torch.randperm(n).split(mb)]:
        yield obs[np.asarray(idx)]
""",
            unsafe=True,
        ),
        Example(
            note="module-qualified names; a computed index list gets no fix",
            code="""\
import torch.utils.data as tud

sampler = tud.BatchSampler(tud.SubsetRandomSampler(valid_idx), batch_size=64, drop_last=False)
""",
            expect=((3, "PYF401"),),
        ),
    )
    good = (
        Example(
            note="a sequential sampler, or BatchSampler over something else",
            code="""\
from torch.utils.data import BatchSampler, SequentialSampler

s = BatchSampler(SequentialSampler(range(10)), 2, False)
t = BatchSampler(my_sampler, 2, False)
""",
        ),
    )

    def check(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        if an.qualname(node.func) not in _BATCH:
            return
        sampler = node.args[0] if node.args else keyword(node, "sampler")
        if not isinstance(sampler, ast.Call) or an.qualname(sampler.func) not in _SUBSET:
            return
        batch_size = node.args[1] if len(node.args) > 1 else keyword(node, "batch_size")
        drop_last = node.args[2] if len(node.args) > 2 else keyword(node, "drop_last")
        numpy = _indexes_numpy(node, an)
        if numpy:
            advice = ("the batches index NumPy arrays: `torch.randperm(n)` split into NumPy index arrays "
                      f"(the same permutation) is {self.speedups['split_numpy'].claim}")
        else:
            advice = f"`torch.randperm(n).split(batch_size)` is {self.speedups['split'].claim}"
        yield self.report(
            node,
            f"`BatchSampler(SubsetRandomSampler(...))` builds Python lists index by index: {advice}",
            self._fix(node, sampler, batch_size, drop_last, an, numpy),
        )

    def _fix(self, node: ast.Call, sampler: ast.Call, batch_size: ast.expr | None,
             drop_last: ast.expr | None, an: Analysis, numpy: bool) -> Fix | None:
        if batch_size is None or not isinstance(drop_last, ast.Constant) or not isinstance(drop_last.value, bool):
            return None
        if len(sampler.args) != 1 or sampler.keywords:
            return None
        indices = sampler.args[0]
        if not (isinstance(indices, ast.Call) and an.qualname(indices.func) == "builtins.range"):
            return None
        rargs = indices.args
        if len(rargs) == 2 and isinstance(rargs[0], ast.Constant) and rargs[0].value == 0:
            n = rargs[1]
        elif len(rargs) == 1:
            n = rargs[0]
        else:
            return None
        if not name_is(an, node, "torch", "torch"):
            return None
        if drop_last.value and not (_simple(n) and _simple(batch_size)):
            return None
        n_at, bs_at = locate(node, n), locate(node, batch_size)
        if n_at is None or bs_at is None:
            return None
        return Fix(safe=False, data=RandpermFix(n_at, bs_at, drop_last.value, numpy),
                   reason="yields tensors and consumes the RNG differently")

    def fix(self, node: cst.CSTNode, fix: Fix, ctx: FixContext, anchor: str = "main") -> FixResult:
        data = fix.data
        assert isinstance(data, RandpermFix)
        ctx.require_import("torch")
        n, bs = follow(node, data.n), follow(node, data.batch_size)
        if data.numpy:
            if data.drop_last:  # rows of a 2-d NumPy array: one index array per minibatch
                return ctx.expr("torch.randperm({n})[: {n} // {bs} * {bs}].view(-1, {bs}).numpy()", n=n, bs=bs)
            return ctx.expr("[b.numpy() for b in torch.randperm({n}).split({bs})]", n=n, bs=bs)
        if data.drop_last:
            return ctx.expr("torch.randperm({n})[: {n} // {bs} * {bs}].view(-1, {bs})", n=n, bs=bs)
        return ctx.expr("torch.randperm({n}).split({bs})", n=n, bs=bs)


def _indexes_numpy(node: ast.Call, an: Analysis) -> bool:
    """``for idx in BatchSampler(...):`` whose batches index NumPy arrays (``obs[idx]`` with ``obs``
    an ndarray, or ``np.asarray(idx)``) and never a tensor: NumPy indices serve them directly."""
    loop = an.parent(node)
    if not (isinstance(loop, ast.For) and loop.iter is node and isinstance(loop.target, ast.Name)):
        return False
    name = loop.target.id
    numpy = tensor = False
    for stmt in loop.body:
        for use in ast.walk(stmt):
            if not (isinstance(use, ast.Name) and use.id == name and isinstance(use.ctx, ast.Load)):
                continue
            parent = an.parent(use)
            if isinstance(parent, ast.Subscript) and parent.slice is use:
                k = an.kind(parent.value)
                numpy |= k.is_ndarray
                tensor |= not k.is_ndarray  # a tensor, a list or unknown: keep tensor indices
            elif isinstance(parent, ast.Call) and an.qualname(parent.func) in ("numpy.asarray", "numpy.array"):
                numpy = True
    return numpy and not tensor

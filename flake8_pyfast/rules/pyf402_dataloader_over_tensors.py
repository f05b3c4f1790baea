"""PYF402: ``DataLoader`` over an in-memory ``TensorDataset``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flake8_pyfast.analysis.astutil import keyword
from flake8_pyfast.model import Example, Finding
from flake8_pyfast.rule import Rule, Speedup

if TYPE_CHECKING:
    from flake8_pyfast.analysis import Analysis

_LOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
_TENSOR_DATASETS = frozenset({"torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"})


class DataLoaderOverTensors(Rule):
    code = "PYF402"
    name = "dataloader-over-tensors"
    summary = "`DataLoader(TensorDataset(...))`: index the tensors with `randperm().split()`"
    hot_only = False
    node_types = (ast.Call,)
    harness_phase = "update"
    equivalence = ("exact",)
    speedups = {  # measured by bench/pattern_speed.py (bench/results/pattern_speed.json)
        "index": Speedup(30.8, 29.7, 32.5),
    }

    what = """
Finds a `DataLoader` whose dataset is a `TensorDataset` (built in the call, or held by a name or
an attribute assigned from `TensorDataset(...)` in the same module).
"""
    why = """
With tensors already in memory, `DataLoader` still fetches one sample at a time through
`__getitem__`, then collates the samples back into a batch with `torch.stack`: per-sample Python
work that dwarfs the indexing itself. Slicing the tensors with a permutation gives the same batches
with one indexing operation each. Measured by `bench/pattern_speed.py` (2048 samples of three
tensors, minibatches of 64): {speedup:index}.
"""
    example = """
from torch.utils.data import DataLoader, TensorDataset

loader = DataLoader(TensorDataset(obs, actions, returns), batch_size=64, shuffle=True)
for obs_b, act_b, ret_b in loader:
    ...
"""
    use_instead = """
import torch

for idx in torch.randperm(len(obs)).split(64):
    obs_b, act_b, ret_b = obs[idx], actions[idx], returns[idx]
    ...
"""
    fix_safety = "No automatic fix: loaders carry options (workers, pinning, samplers) that need a person."
    when_wrong = """
Silent with `batch_size=None` (the usual trick that lets a `BatchSampler` fetch whole batches).
If you need the `DataLoader` machinery (workers, distributed samplers), keep it.
"""

    bad = (
        Example(
            code="""\
from torch.utils.data import DataLoader, TensorDataset

loader = DataLoader(TensorDataset(obs, act), batch_size=64, shuffle=True)
ds = TensorDataset(obs, act)
again = DataLoader(ds, 32)
""",
            expect=((3, "PYF402"), (5, "PYF402")),
        ),
    )
    good = (
        Example(
            note="other datasets, and batch_size=None",
            code="""\
from torch.utils.data import DataLoader, TensorDataset

loader = DataLoader(ImageFolder("x"), batch_size=64)
fast = DataLoader(TensorDataset(obs), batch_size=None, sampler=sampler)
""",
        ),
    )

    def check(self, node: ast.Call, an: Analysis) -> Iterator[Finding]:
        if an.qualname(node.func) not in _LOADERS:
            return
        dataset = node.args[0] if node.args else keyword(node, "dataset")
        if dataset is None or not self._is_tensor_dataset(dataset, an):
            return
        bs = keyword(node, "batch_size")
        if isinstance(bs, ast.Constant) and bs.value is None:
            return
        yield self.report(
            node,
            "`DataLoader` over a `TensorDataset` fetches and collates one sample at a time: "
            f"index the tensors with `torch.randperm(n).split(batch_size)` ({self.speedups['index'].claim})",
        )

    @staticmethod
    def _is_tensor_dataset(expr: ast.expr, an: Analysis) -> bool:
        if isinstance(expr, ast.Call):
            return an.qualname(expr.func) in _TENSOR_DATASETS
        if isinstance(expr, ast.Name):
            bindings = an.bindings_of(expr)
        elif isinstance(expr, ast.Attribute) and an.is_self(expr.value):
            cls = an.class_of(expr)
            bindings = cls.attrs.get(expr.attr, []) if cls else []
        else:
            return False
        return bool(bindings) and all(
            b.how == "assign" and not b.path and isinstance(b.value, ast.Call)
            and an.qualname(b.value.func) in _TENSOR_DATASETS
            for b in bindings
        )

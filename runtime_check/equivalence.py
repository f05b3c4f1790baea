"""Compare a variant's trace with the baseline's: exactly, within a tolerance, or by invariants."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runtime_check.expectations import ATOL, RTOL


@dataclass(frozen=True)
class Equivalence:
    equivalent: bool
    how: str  # "exact" | "tolerance" | "invariants" | "different"
    detail: str = ""


def compare(base: dict[str, np.ndarray], other: dict[str, np.ndarray], modes: tuple[str, ...],
            minibatch: int | None = None, samples: int | None = None) -> Equivalence:
    problems: list[str] = []
    for mode in modes:
        if mode == "exact":
            problem = _exact(base, other)
        elif mode == "tolerance":
            problem = _tolerance(base, other)
        elif mode == "invariants":
            problem = _invariants(base, other, minibatch, samples)
        else:
            raise ValueError(mode)
        if problem is None:
            return Equivalence(True, mode, _describe(mode, base, other))
        problems.append(f"{mode}: {problem}")
    return Equivalence(False, "different", "; ".join(problems))


def _describe(mode: str, base: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> str:
    if mode == "tolerance":
        return f"max relative difference {_max_rel(base, other):.2e} (rtol {RTOL:g}, atol {ATOL:g})"
    if mode == "invariants":
        return ("same first rollout, same minibatch sizes, each sample once per update epoch, finite results")
    return "bit-identical"


def _same_keys(base: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> str | None:
    if set(base) != set(other):
        return f"different recorded keys: {sorted(set(base) ^ set(other))[:5]}"
    for k in base:
        if base[k].shape != other[k].shape:
            return f"{k}: shape {base[k].shape} != {other[k].shape}"
    return None


def _exact(base: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> str | None:
    problem = _same_keys(base, other)
    if problem:
        return problem
    for k in sorted(base):
        if base[k].dtype != other[k].dtype:
            return f"{k}: dtype {base[k].dtype} != {other[k].dtype}"
        if not np.array_equal(base[k], other[k], equal_nan=base[k].dtype.kind in "fc"):
            return f"{k} differs"
    return None


def _tolerance(base: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> str | None:
    problem = _same_keys(base, other)
    if problem:
        return problem
    for k in sorted(base):
        a, b = base[k], other[k]
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            if not np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True):
                return f"{k} differs beyond tolerance (max relative difference {_rel(a, b):.2e})"
        elif not np.array_equal(a, b):
            return f"{k} differs (integers must match exactly)"
    return None


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    denom = np.maximum(np.abs(a64), ATOL)
    return float(np.max(np.abs(a64 - b64) / denom)) if a64.size else 0.0


def _max_rel(base: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> float:
    return max((_rel(base[k], other[k]) for k in base if base[k].dtype.kind in "fc"), default=0.0)


#: recorded before the first update: a fix that only changes how the update consumes random
#: numbers cannot change these
FIRST_ROLLOUT = ("obs/0", "actions/0", "rewards/0")


def _invariants(base: dict[str, np.ndarray], other: dict[str, np.ndarray], minibatch: int | None,
                samples: int | None) -> str | None:
    problem = _same_keys(base, other)
    if problem:
        return problem
    first = {k: base[k] for k in FIRST_ROLLOUT if k in base}
    if first:
        problem = _tolerance(first, {k: other[k] for k in first})
        if problem:
            return f"the first rollout (before any update) differs: {problem}"
    for k, v in other.items():
        if v.dtype.kind in "fc" and not np.all(np.isfinite(v)):
            return f"{k} has non-finite values"
    mb = other.get("minibatch_indices")
    if mb is None or minibatch is None or samples is None:
        return "no minibatch indices were recorded"
    if mb.ndim != 2 or mb.shape[1] != minibatch:
        return f"minibatches of the wrong size: {mb.shape}"
    per_epoch = samples // minibatch
    if mb.shape[0] % per_epoch:
        return "a partial update epoch"
    for start in range(0, mb.shape[0], per_epoch):
        seen = mb[start:start + per_epoch].reshape(-1)
        if len(np.unique(seen)) != seen.size or seen.min() < 0 or seen.max() >= samples:
            return "a sample was used twice (or out of range) within one update epoch"
    return None

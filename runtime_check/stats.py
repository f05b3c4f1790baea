"""Paired speedups, bootstrap confidence intervals and verdicts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CONFIRMED = "confirmed"
NO_GAIN = "no gain"
SLOWER = "slower"
CHANGES_RESULTS = "changes results"


def bootstrap_median(ratios: Sequence[float], n_boot: int = 4000, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float, float]:
    """Median of the paired ratios and a percentile bootstrap interval for it."""
    data = np.asarray(ratios, dtype=np.float64)
    if data.size == 0:
        raise ValueError("no rounds to summarise")
    median = float(np.median(data))
    if data.size == 1:
        return median, median, median
    rng = np.random.default_rng(seed)
    samples = rng.choice(data, size=(n_boot, data.size), replace=True)
    medians = np.median(samples, axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(medians, [alpha, 1 - alpha])
    return median, float(lo), float(hi)


def bootstrap_nested(groups: Sequence[Sequence[float]], n_boot: int = 4000, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float, float]:
    """Median of all ratios, with a two-level bootstrap interval: rounds (independent process pairs)
    are resampled, then the epochs within each chosen round (correlated, so never pooled blindly)."""
    groups = [np.asarray(g, dtype=np.float64) for g in groups if len(g)]
    if not groups:
        raise ValueError("no rounds to summarise")
    median = float(np.median(np.concatenate(groups)))
    if len(groups) == 1 and groups[0].size == 1:
        return median, median, median
    rng = np.random.default_rng(seed)
    medians = np.empty(n_boot)
    for b in range(n_boot):
        picked = rng.integers(0, len(groups), size=len(groups))
        medians[b] = np.median(np.concatenate([rng.choice(groups[i], size=groups[i].size) for i in picked]))
    alpha = (1 - level) / 2
    lo, hi = np.quantile(medians, [alpha, 1 - alpha])
    return median, float(lo), float(hi)


def verdict(lo: float, hi: float, equivalent: bool) -> str:
    if not equivalent:
        return CHANGES_RESULTS
    if lo > 1.0:
        return CONFIRMED
    if hi < 1.0:
        return SLOWER
    return NO_GAIN


def paired_speedups(baseline: Sequence[float], variant: Sequence[float]) -> list[float]:
    """Per round: baseline time / variant time (above 1: the variant is faster)."""
    if len(baseline) != len(variant):
        raise ValueError("rounds must be paired")
    return [b / v for b, v in zip(baseline, variant, strict=True) if v > 0]

"""``pyfast-check compare path/to/file.py::function``: the fix, proven on your own function.

The file is fixed in memory (the same engine as ``pyfast-fix``), the original and the fixed
module are imported separately, the function is called on the same inputs with the same seeds,
the results are compared, and both are timed, interleaved.
"""

from __future__ import annotations

import math
import random
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from autofix.engine import FixError, SourceError, fix_source
from runtime_check.stats import bootstrap_median, verdict


class CompareError(Exception):
    """Bad input: the message says what and where."""


@dataclass
class CompareResult:
    path: str
    function: str
    fixes: list[str]
    equivalent: bool
    detail: str
    speedup: float
    ci: tuple[float, float]
    verdict: str
    original_s: float
    fixed_s: float


def parse_target(target: str) -> tuple[Path, str]:
    if "::" not in target:
        raise CompareError(f"{target!r}: expected path/to/file.py::function")
    path, _, func = target.rpartition("::")
    if not func.isidentifier():
        raise CompareError(f"{func!r} is not a function name")
    p = Path(path)
    if not p.is_file():
        raise CompareError(f"{path}: no such file")
    return p, func


def _load(source: str, path: Path, name: str) -> ModuleType:
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)  # the user's own file, as an import would
    except Exception as exc:
        sys.modules.pop(name, None)
        raise CompareError(f"{path}: importing it failed: {type(exc).__name__}: {exc}\n"
                           + "".join(traceback.format_exc(limit=-3))) from None
    return module


def _seed(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def same(a: Any, b: Any) -> tuple[bool, str]:
    if type(a) is not type(b):
        return False, f"result types differ: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, float):
        ok = (math.isnan(a) and math.isnan(b)) or a == b
        return ok, "" if ok else f"{a!r} != {b!r}"
    if isinstance(a, list | tuple):
        if len(a) != len(b):
            return False, "lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            ok, why = same(x, y)
            if not ok:
                return False, f"[{i}]: {why}"
        return True, ""
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return False, "keys differ"
        for k in a:
            ok, why = same(a[k], b[k])
            if not ok:
                return False, f"[{k!r}]: {why}"
        return True, ""
    mod = type(a).__module__
    if mod == "numpy" and hasattr(a, "dtype"):
        import numpy as np

        ok = a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        return bool(ok), "" if ok else "arrays differ"
    if mod.startswith("torch") and hasattr(a, "dtype"):
        import torch

        ok = a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.detach().cpu(), b.detach().cpu())
        return bool(ok), "" if ok else "tensors differ"
    ok = a == b
    return bool(ok), "" if ok else f"{a!r} != {b!r}"


def compare(target: str, setup: str = "", rounds: int = 15, unsafe: bool = False, seed: int = 0,
            min_time: float = 0.02) -> CompareResult:
    path, func = parse_target(target)
    try:
        source = path.read_text(encoding="utf-8")
        outcome = fix_source(source, unsafe=unsafe, path=str(path))
    except (SourceError, FixError) as exc:
        raise CompareError(f"{path}: {exc}") from None
    if not outcome.changed:
        hint = "" if unsafe else " (try --unsafe-fixes)"
        raise CompareError(f"{path}: nothing to fix{hint}")
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        original = _load(source, path, f"pyfast_compare_original_{path.stem}")
        fixed = _load(outcome.fixed, path, f"pyfast_compare_fixed_{path.stem}")
        fa, fb = getattr(original, func, None), getattr(fixed, func, None)
        if not callable(fa) or not callable(fb):
            found = [n for n, v in vars(original).items() if callable(v) and not n.startswith("_")]
            raise CompareError(f"{path}: no function {func!r} (found: {', '.join(found) or 'none'})")
        namespace: dict[str, Any] = {"args": (), "kwargs": {}}
        if setup:
            _seed(seed)
            try:
                exec(setup, namespace)  # the user's --setup code
            except Exception as exc:
                raise CompareError(f"--setup failed: {type(exc).__name__}: {exc}") from None
        args, kwargs = namespace.get("args", ()), namespace.get("kwargs", {})

        def call(fn: Any) -> Any:
            _seed(seed)
            return fn(*_copy(args), **_copy(kwargs))

        try:
            ra, rb = call(fa), call(fb)
        except Exception as exc:
            raise CompareError(f"calling {func} failed: {type(exc).__name__}: {exc}") from None
        equal, detail = same(ra, rb)
        reps = _calibrate(lambda: call(fa), min_time)
        ratios, ta, tb = [], [], []
        for _ in range(rounds):
            a = _time(lambda: call(fa), reps)
            b = _time(lambda: call(fb), reps)
            ta.append(a)
            tb.append(b)
            ratios.append(a / b if b > 0 else float("nan"))
        median, lo, hi = bootstrap_median(ratios, seed=seed)
    finally:
        sys.path.remove(str(path.parent.resolve()))
    return CompareResult(str(path), func, sorted({f"{f.code}:{f.line}" for f in outcome.applied}), equal,
                         detail or "same result", median, (lo, hi), verdict(lo, hi, equal),
                         float(sorted(ta)[len(ta) // 2]), float(sorted(tb)[len(tb) // 2]))


def _copy(value: Any) -> Any:
    import copy

    try:
        return copy.deepcopy(value)  # a function that mutates its input must not see the other's output
    except Exception:
        return value


def _calibrate(fn: Any, min_time: float) -> int:
    reps = 1
    while True:
        if _time(fn, reps) * reps >= min_time or reps >= 1 << 16:
            return reps
        reps *= 4


def _time(fn: Any, reps: int) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps

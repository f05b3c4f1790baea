"""``pyfast-check profile --compare``: fix a copy of the program, run both, and compare.

The user's files are never touched: the folder profiled from is copied (without version control,
virtual environments, caches and ``.pyfast``), the copy is fixed with ``pyfast-fix`` reading the
profile just taken (``--min-share`` and ``--unsafe-fixes`` as given), and the original and the fixed
program then run in turns, unprofiled, ``rounds`` times each. The whole-program speedup measured
that way is reported next to the estimate the profile gave (the run's wall time over that time less
the estimated savings of the findings that were fixed), with both programs' exit codes and whether
their standard output was the same.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flake8_pyfast.analysis.measured import PROFILE_PATH

#: copying more than this is refused (data sets, checkpoints): say so rather than fill the disk
MAX_COPY_BYTES = 512 * 1024 * 1024
_SKIP = {".git", ".hg", ".svn", ".pyfast", "__pycache__", ".venv", "venv", ".tox", ".nox", ".mypy_cache",
         ".ruff_cache", ".pytest_cache", "node_modules", "site-packages"}


class CompareError(RuntimeError):
    """The comparison cannot be made; the message says why."""


@dataclass
class Comparison:
    rounds: int
    original_seconds: list[float] = field(default_factory=list)
    fixed_seconds: list[float] = field(default_factory=list)
    fixes: dict[str, int] = field(default_factory=dict)
    fixed_findings: list[dict[str, Any]] = field(default_factory=list)
    estimated_speedup: float = 1.0
    measured_speedup: float = 1.0
    spread: tuple[float, float] = (1.0, 1.0)
    exit_codes: tuple[int, int] = (0, 0)
    same_output: bool = True
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _copy(root: Path, dest: Path) -> None:
    total = 0

    def ignore(folder: str, names: list[str]) -> set[str]:
        nonlocal total
        skipped = {n for n in names if n in _SKIP or n.endswith(".egg-info")}
        for n in names:
            p = os.path.join(folder, n)
            if n not in skipped and os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
        if total > MAX_COPY_BYTES:
            raise CompareError(f"{root} holds more than {MAX_COPY_BYTES // 2**20} MiB besides code: --compare "
                               "copies the folder it runs in; run it from a smaller folder")
        return skipped

    shutil.copytree(root, dest, symlinks=True, ignore=ignore)


def _run(cmd: Sequence[str], cwd: Path, timeout: float | None) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, timeout=timeout, check=False)
    return time.perf_counter() - start, proc.returncode, proc.stdout


def compare(root: Path, mode: str, target: str, args: Sequence[str], findings: Sequence[dict[str, Any]],
            wall_seconds: float, *, rounds: int = 3, unsafe: bool = False, min_share: float | None = None,
            timeout: float | None = None) -> Comparison:
    """Fix a copy of ``root`` with the profile in ``root/.pyfast`` and time both programs.

    ``mode`` is "script" (``target`` a path) or "module" (``target`` a module name); ``findings``
    are the profile's (:func:`.join.analyse`), used for the estimate."""
    root = root.resolve()
    if not (root / PROFILE_PATH).is_file():
        raise CompareError(f"{root / PROFILE_PATH}: no profile to fix from")
    with tempfile.TemporaryDirectory(prefix="pyfast-compare-") as tmp:
        copy = Path(tmp) / root.name
        _copy(root, copy)
        (copy / ".pyfast").mkdir()
        shutil.copy2(root / PROFILE_PATH, copy / PROFILE_PATH)
        if mode == "script":
            script = Path(target).resolve()
            try:
                fixed_script = copy / script.relative_to(root)
            except ValueError:
                raise CompareError(f"{target}: --compare needs the script inside the folder it runs in "
                                   f"({root})") from None
            original_cmd = [sys.executable, str(script), *args]
            fixed_cmd = [sys.executable, str(fixed_script), *args]
        else:
            original_cmd = fixed_cmd = [sys.executable, "-m", target, *args]
        fix = [sys.executable, "-m", "autofix.cli", "--output-format", "json", "--exit-zero",
               *(["--unsafe-fixes"] if unsafe else ["--no-unsafe-fixes"]),
               *(["--min-share", str(min_share)] if min_share is not None else []), "."]
        proc = subprocess.run(fix, cwd=copy, capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 1):
            raise CompareError(f"pyfast-fix failed on the copy: {proc.stderr.strip()[-800:]}")
        result = Comparison(rounds)
        result.fixed_findings = _applied(proc.stdout)
        for f in result.fixed_findings:
            result.fixes[f["code"]] = result.fixes.get(f["code"], 0) + 1
        saving = _estimate(findings, result.fixed_findings)
        result.estimated_speedup = wall_seconds / (wall_seconds - saving) if 0 <= saving < wall_seconds else 1.0
        outputs: list[tuple[bytes, bytes]] = []
        codes = (0, 0)
        for i in range(rounds):  # interleaved, the order swapped every round
            pair = [("original", original_cmd, root), ("fixed", fixed_cmd, copy)]
            got: dict[str, tuple[float, int, bytes]] = {}
            for name, cmd, cwd in pair if i % 2 == 0 else pair[::-1]:
                got[name] = _run(cmd, cwd, timeout)
            result.original_seconds.append(got["original"][0])
            result.fixed_seconds.append(got["fixed"][0])
            codes = (got["original"][1], got["fixed"][1])
            outputs.append((got["original"][2], got["fixed"][2]))
        result.exit_codes = codes
        result.same_output = all(a == b for a, b in outputs)
    ratios = [o / f for o, f in zip(result.original_seconds, result.fixed_seconds, strict=True) if f > 0]
    result.measured_speedup = statistics.median(result.original_seconds) / statistics.median(result.fixed_seconds)
    result.spread = (min(ratios), max(ratios)) if ratios else (1.0, 1.0)
    if not result.fixed_findings:
        result.note = "no finding was fixed (see --min-share / --unsafe-fixes): both runs are the same program"
    elif not result.same_output:
        result.note = "the fixed program printed something else than the original: check the fixes"
    return result


def _applied(stdout: str) -> list[dict[str, Any]]:
    """The fixes ``pyfast-fix --output-format json`` applied, paths relative to the copy's root."""
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        return []
    fixes = data.get("fixes", []) if isinstance(data, dict) else []
    return [{**f, "path": Path(os.path.normpath(f["path"])).as_posix()} for f in fixes
            if isinstance(f, dict) and isinstance(f.get("path"), str)]


def _estimate(findings: Sequence[dict[str, Any]], fixed: Sequence[dict[str, Any]]) -> float:
    """Seconds the profile says the fixed findings' fixes save (their estimated savings, summed)."""
    done = {(f["path"], f.get("code"), f.get("line")) for f in fixed}
    return sum(f.get("estimated_saving_seconds") or 0.0 for f in findings
               if (f["path"], f["code"], f["line"]) in done)

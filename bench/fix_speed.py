"""Wall time of ``pyfast-fix --diff --unsafe-fixes`` on real RL code (issue target: < 3 s, default jobs).

stable-baselines3 2.9.2 + cleanrl 0.4.8 + panda-gym 3.0.7, fetched by corpus.py. ``--diff`` writes
nothing, so the cache is used in place. ``-j 1`` and the default (all cores) run in fresh
processes, interleaved, one warm-up each; medians and spread are printed.

    python bench/fix_speed.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import BENCH_ENV, CorpusUnavailable, corpus, python_files


def once(dirs: list[Path], jobs: str | None) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "autofix.cli", "--diff", "--unsafe-fixes", "--isolated"]
    if jobs:
        cmd += ["-j", jobs]
    start = time.perf_counter()
    proc = subprocess.run([*cmd, *map(str, dirs)], capture_output=True, text=True, check=False, env=BENCH_ENV)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr[-2000:])
    return elapsed, proc.stderr.strip().splitlines()[-1]  # the summary line


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    try:
        dirs = list(corpus().values())
    except CorpusUnavailable as exc:
        print(f"skipped: {exc}")
        return 0
    files = [f for d in dirs for f in python_files(d)]
    n_lines = sum(len(f.read_bytes().splitlines()) for f in files)
    print(f"{len(files)} files, {n_lines} lines: {', '.join(str(d) for d in dirs)}")
    variants = {"-j 1": "1", f"default (-j {os.cpu_count()})": None}
    for jobs in variants.values():
        once(dirs, jobs)
    times: dict[str, list[float]] = {name: [] for name in variants}
    summary = ""
    for _ in range(args.runs):
        for name, jobs in variants.items():
            elapsed, summary = once(dirs, jobs)
            times[name].append(elapsed)
    print(f"pyfast-fix --diff --unsafe-fixes, {args.runs} interleaved runs each: median (min-max)")
    for name, ts in times.items():
        print(f"  {name:16s} {statistics.median(ts):6.2f} s ({min(ts):.2f}-{max(ts):.2f})")
    print(f"  {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How much does the PYF plugin add to a flake8 run? (issue: plugin adds <= 10%, own time < 0.5 s)

flake8 runs every installed plugin whatever --select says, so the fair comparison is flake8 with
and without this plugin loaded, everything else equal. Both variants run in fresh processes,
interleaved (A B A B ...), after one warm-up each; we report medians and the spread. The plugin's
own time is measured in-process on already-parsed trees (what flake8 hands it).

The plugin indexes the linted file's project (heat across modules) and caches per-file facts on
disk in ``$PYFAST_CACHE_DIR``. "warm" runs share one cache folder, filled by the warm-up run (the
usual case: a file that did not change is never parsed for the index again); "cold" runs each get
an empty one, so every worker parses the whole project for its index. Targets: +10% warm, +25% cold.

    python bench/lint_speed.py [--runs 7] [--package stable-baselines3==2.9.2] [--cache both]
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import BENCH_ENV, CorpusUnavailable, corpus, python_files

WITHOUT_PLUGIN = """
import sys
from flake8.plugins import finder
_orig = finder._find_importlib_plugins
finder._find_importlib_plugins = lambda: (p for p in _orig() if p.package != "pyfast")
from flake8.main.cli import main
sys.exit(main(sys.argv[1:]))
"""
WITH_PLUGIN = "import sys\nfrom flake8.main.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def time_flake8(script: str, target: Path, jobs: str, cache: str | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of flake8 and its workers); ``cache``: the index cache folder."""
    env = dict(BENCH_ENV)
    if cache is not None:
        env["PYFAST_CACHE_DIR"] = cache
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, "--isolated", f"--jobs={jobs}", str(target)],
                          capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def own_time(files: list[Path], runs: int) -> tuple[float, int, int]:
    from flake8_pyfast.checker import lint_tree

    sources = [f.read_text(encoding="utf-8") for f in files]
    lines = [s.splitlines(keepends=True) for s in sources]
    times = []
    findings = 0
    for _ in range(runs):
        trees = [ast.parse(s) for s in sources]  # flake8 parses; we only time the plugin
        start = time.process_time()
        findings = sum(len(lint_tree(t, ls, path=str(f)))
                       for t, ls, f in zip(trees, lines, files, strict=True))
        times.append(time.process_time() - start)
    return statistics.median(times), sum(len(ls) for ls in lines), findings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--package", default="stable-baselines3==2.9.2")
    ap.add_argument("--jobs", default="auto", help="flake8 --jobs (default: auto, all cores)")
    ap.add_argument("--cache", choices=("warm", "cold", "both"), default="both",
                    help="the plugin's index cache: warm (filled once), cold (empty each run), or both")
    args = ap.parse_args()
    try:
        target = corpus((args.package,))[args.package]
    except CorpusUnavailable as exc:
        print(f"skipped: {exc}")
        return 0
    files = python_files(target)
    print(f"{args.package}: {len(files)} files under {target}")
    modes = ("warm", "cold") if args.cache == "both" else (args.cache,)
    with tempfile.TemporaryDirectory(prefix="pyfast-bench-") as tmp:
        warm_cache = os.path.join(tmp, "warm")
        for script, cache in ((WITH_PLUGIN, warm_cache), (WITHOUT_PLUGIN, None)):  # warm-up
            time_flake8(script, target, args.jobs, cache)
        runs: dict[str, list[tuple[float, float]]] = {"without": [], **{f"with/{m}": [] for m in modes}}
        for i in range(args.runs):
            for mode in modes:
                cache = warm_cache if mode == "warm" else os.path.join(tmp, f"cold{i}")
                runs[f"with/{mode}"].append(time_flake8(WITH_PLUGIN, target, args.jobs, cache))
            runs["without"].append(time_flake8(WITHOUT_PLUGIN, target, args.jobs))
        print(f"flake8 --jobs={args.jobs}, {args.runs} interleaved runs each: median (min-max)")
        medians = {}
        for label, got in runs.items():
            wall = [w for w, _ in got]
            cpu = [c for _, c in got]
            medians[label] = (statistics.median(wall), statistics.median(cpu))
            print(f"  {label:10s} wall {medians[label][0]:6.3f} s ({min(wall):.3f}-{max(wall):.3f})"
                  f"   cpu {medians[label][1]:6.3f} s ({min(cpu):.3f}-{max(cpu):.3f})")
        for mode in modes:
            target_pct = 10 if mode == "warm" else 25
            for i, what in enumerate(("wall", "cpu")):
                ratio = medians[f"with/{mode}"][i] / medians["without"][i]
                print(f"  ratio {mode} {what:4s} {ratio:.3f}x (+{100 * (ratio - 1):.1f}%; target +{target_pct}%)")
        os.environ["PYFAST_CACHE_DIR"] = warm_cache
        own, n_lines, n_findings = own_time(files, args.runs)
    print(f"plugin's own CPU time on {n_lines} lines: {own:.3f} s (median of {args.runs}), {n_findings} findings")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

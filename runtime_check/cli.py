"""``pyfast-check``: prove each fix on a real RL loop; ``doctor`` and ``compare`` subcommands.

    pyfast-check [--quick] [--rounds N] [--json out.json] [--plot out.png] [--device cuda]
    pyfast-check doctor
    pyfast-check compare path/to/file.py::function [--setup CODE] [--rounds N] [--unsafe-fixes]
    pyfast-check profile [--duration S] [--json FILE] ... (script.py | -m module) [args...]

Exit codes: 0 done (whatever the verdicts), 1 a variant changes results or the baseline is not
reproducible, 2 usage errors and failures to run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from flake8_pyfast import __version__


def _run_parser() -> argparse.ArgumentParser:
    from autofix.cli import positive_int  # imports libcst: not on the `profile` path

    ap = argparse.ArgumentParser(
        prog="pyfast-check",
        description="Run the built-in PyBullet + PyTorch PPO workload before and after pyfast's fixes, "
                    "rule by rule, and judge every speedup with statistics and an equivalence check. "
                    "Subcommands: `pyfast-check doctor`, `pyfast-check compare FILE::FUNCTION`, "
                    "`pyfast-check profile script.py`.",
    )
    ap.add_argument("--quick", action="store_true", help="fewer rounds and shorter epochs (under 3 minutes)")
    ap.add_argument("--rounds", type=positive_int, help="rounds (fresh process pairs) per variant (default 8, quick 4)")
    ap.add_argument("--epochs", type=positive_int, help="measured epoch pairs per round (default 6, quick 4)")
    ap.add_argument("--steps", type=positive_int, help="environment steps per epoch (default 256)")
    ap.add_argument("--threads", type=positive_int, default=1, help="torch threads in every run (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall-clock time (default; always on a GPU) or this process's CPU time")
    ap.add_argument("--rules", help="comma-separated codes to check (default: every rule in the workload)")
    ap.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    ap.add_argument("--plot", type=Path, metavar="PATH", help="write a PNG chart of the speedups")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--version", action="version", version=f"pyfast-check {__version__}")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "doctor":
            return _doctor(args[1:])
        if args and args[0] == "compare":
            return _compare(args[1:])
        if args and args[0] == "profile":
            from runtime_check.profile.runner import main as profile_main

            return profile_main(args[1:])
        return _check(args)
    except KeyboardInterrupt:
        print("pyfast-check: interrupted", file=sys.stderr)
        return 130


def _check(argv: list[str]) -> int:
    args = _run_parser().parse_args(argv)
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from runtime_check.check import CheckOptions, run_check
        from runtime_check.report import print_report, write_json, write_plot
        from runtime_check.runner import ChildError
    except ImportError as exc:
        print(f"pyfast-check: error: the harness needs its extra: pip install 'pyfast[harness]' ({exc})",
              file=sys.stderr)
        return 2
    from autofix.selection import SelectionError, check_codes

    try:
        rules = check_codes(args.rules.split(","), "--rules") if args.rules else ()
    except SelectionError as exc:
        print(f"pyfast-check: error: {exc}", file=sys.stderr)
        return 2
    overrides = {k: v for k, v in (("rounds", args.rounds), ("epochs", args.epochs), ("steps", args.steps)) if v}
    common = {"threads": args.threads, "seed": args.seed, "device": args.device, "rules": rules,
              "clock": args.clock, **overrides}
    options = CheckOptions.quick(**common) if args.quick else CheckOptions(**common)
    console = Console(stderr=False, width=None if sys.stdout.isatty() else 150)
    try:
        if args.no_progress or not console.is_terminal:
            report = run_check(options, progress=lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
        else:
            with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True) as bar:
                task = bar.add_task("starting", total=None)
                state = {"first": True}

                def tick(msg: str) -> None:
                    if not state["first"]:
                        bar.advance(task)
                    state["first"] = False
                    bar.update(task, description=msg)

                report = run_check(options, progress=tick, total=lambda n: bar.update(task, total=n))
    except ChildError as exc:
        print(f"pyfast-check: error: a run failed:\n{exc}", file=sys.stderr)
        return 2
    print_report(report, console)
    if args.json:
        write_json(report, args.json)
        console.print(f"JSON: {args.json}")
    if args.plot:
        write_plot(report, args.plot)
        console.print(f"Chart: {args.plot}")
    changed = [r.code for r in report.rules if r.kind == "fix" and not r.equivalent]
    if report.errors or changed or (report.overall is not None and not report.overall.equivalent):
        return 1
    return 0


def _doctor(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="pyfast-check doctor",
                                 description="Machine settings and Python build: what is found, and what to do.")
    ap.parse_args(argv)
    from runtime_check.doctor import format_items, run_doctor

    print(format_items(run_doctor()))
    return 0


def _compare(argv: list[str]) -> int:
    from autofix.cli import positive_int

    ap = argparse.ArgumentParser(
        prog="pyfast-check compare",
        description="Fix a file in memory, call FUNCTION from the original and the fixed module on the same "
                    "inputs and seed, compare the results and time both.",
    )
    ap.add_argument("target", metavar="FILE::FUNCTION")
    ap.add_argument("--setup", default="", help="Python code that sets `args` (a tuple) and/or `kwargs` (a dict)")
    ap.add_argument("--rounds", type=positive_int, default=15)
    ap.add_argument("--unsafe-fixes", action="store_true", help="also apply unsafe fixes")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from runtime_check.compare import CompareError, compare

    try:
        res = compare(args.target, setup=args.setup, rounds=args.rounds, unsafe=args.unsafe_fixes, seed=args.seed)
    except CompareError as exc:
        print(f"pyfast-check compare: error: {exc}", file=sys.stderr)
        return 2
    print(f"{res.path}::{res.function}: fixes applied: {', '.join(res.fixes)}")
    print(f"  results: {'same' if res.equivalent else 'DIFFERENT: ' + res.detail}")
    print(f"  original {res.original_s * 1e6:.1f} us/call, fixed {res.fixed_s * 1e6:.1f} us/call")
    print(f"  speedup {res.speedup:.2f}x, 95% CI [{res.ci[0]:.2f}, {res.ci[1]:.2f}] over {args.rounds} rounds: "
          f"{res.verdict}")
    return 0 if res.equivalent else 1


if __name__ == "__main__":
    raise SystemExit(main())

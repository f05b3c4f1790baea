"""``pyfast-check profile``: run the user's program in a child under the sampler, then report.

    pyfast-check profile [options] script.py [args...]
    pyfast-check profile [options] -m module [args...]

Options stop at the script or ``-m module``; everything after belongs to the program. The exit code
is the program's (2 for the profiler's own usage errors).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runtime_check.profile.model import RawResult, Report, write_json_atomic, write_text_atomic

STOP_GRACE_S = 5.0
#: 200 Hz: the sampler costs <= 5% of the built-in workload there and 17-20% at 1 ms (bench/profile_overhead.py)
DEFAULT_INTERVAL_MS = 5.0


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="pyfast-check profile",
        usage="pyfast-check profile [options] (script.py | -m module) [args...]",
        description="Run your program under a wall-clock line sampler; report where the time goes, pyfast's "
                    "findings ranked by what they cost, and the hot lines no rule covers.",
    )
    ap.add_argument("--duration", type=float, metavar="S", help="stop the program after S seconds and report")
    ap.add_argument("--interval-ms", type=float, default=DEFAULT_INTERVAL_MS,
                    help=f"sampling interval (default {DEFAULT_INTERVAL_MS:g}: 200 Hz; see docs/profile.md)")
    ap.add_argument("--include", action="append", default=[], metavar="DIR",
                    help="also count files under DIR as your code (even in site-packages)")
    ap.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                    help="do not count files matching GLOB (relative or absolute path) as your code")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    ap.add_argument("--speedscope", type=Path, metavar="FILE", help="write a speedscope profile (JSON)")
    ap.add_argument("--svg", type=Path, metavar="FILE",
                    help="also save the terminal report as an SVG picture (needs rich)")
    ap.add_argument("--min-share", type=float, default=0.0, metavar="X",
                    help="hide lines and findings that cost less than this share of the run (e.g. 0.01)")
    ap.add_argument("--no-report", action="store_true", help="no terminal report")
    ap.add_argument("--no-lint", action="store_true", help="do not run pyfast's rules on the profiled files")
    ap.add_argument("--compare", action="store_true",
                    help="then fix a copy of this folder (findings costing at least --min-share) and time the "
                    "original and fixed program in turns: measured speedup next to the estimate")
    ap.add_argument("--compare-rounds", type=int, default=3, metavar="N", help="runs of each program (default 3)")
    ap.add_argument("--unsafe-fixes", action="store_true", help="with --compare: apply unsafe fixes too")
    ap.add_argument("--sampler", choices=("signal", "thread"), default="signal",
                    help="how samples are taken (default signal; see docs/profile.md)")
    return ap


def split_argv(argv: Sequence[str]) -> tuple[list[str], str | None, str | None, list[str]]:
    """(profiler options, script, module, program args): options end at the script or ``-m module``."""
    argv = list(argv)
    # options that take a value: the splitter must skip it (read from the parser, so none is forgotten)
    takes_value = {opt for action in _parser()._actions if action.nargs != 0 for opt in action.option_strings}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            if i + 1 >= len(argv):
                break
            return argv[:i], argv[i + 1], None, argv[i + 2:]
        if arg == "-m":
            if i + 1 >= len(argv):
                raise UsageError("-m needs a module name")
            return argv[:i], None, argv[i + 1], argv[i + 2:]
        if arg.startswith("-m") and not arg.startswith("--"):
            return argv[:i], None, arg[2:], argv[i + 1:]
        if arg.startswith("-"):
            i += 2 if arg in takes_value else 1
            continue
        return argv[:i], arg, None, argv[i + 1:]
    return argv, None, None, []


def _load_join() -> Any:
    try:
        from runtime_check.profile import join  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    return join


def _stop(proc: subprocess.Popen[bytes]) -> str | None:
    """SIGINT, then SIGTERM, then SIGKILL; returns a note when the child had to be killed."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(STOP_GRACE_S)
        return None
    except subprocess.TimeoutExpired:
        pass
    proc.terminate()
    try:
        proc.wait(2.0)
        return "the program did not stop on SIGINT; it was terminated"
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "the program did not stop on SIGINT or SIGTERM; it was killed"


def _prepare(join: Any, cwd: Path, args: argparse.Namespace, notes: list[str]) -> Any:
    """The linter's choice of expressions to observe (``join.prepare``), or None."""
    if join is None or not hasattr(join, "prepare"):
        return None
    try:
        return join.prepare(cwd, [Path(d) for d in args.include], list(args.exclude))
    except Exception as exc:  # the linter must never cost the profile
        notes.append(f"no kinds observed: choosing the sites failed ({exc!r})")
        return None


def _analyse(join: Any, raw: RawResult, prepared: Any, root: Path,
             notes: list[str]) -> tuple[list[dict[str, Any]], set[tuple[str, int]]]:
    """Store the measurements for the linter and lint the profiled files with them: (findings, covered)."""
    if join is None or not hasattr(join, "analyse"):
        return [], set()
    try:
        payload = getattr(prepared, "payload", None)
        if hasattr(join, "write_profile"):
            join.write_profile(root, raw.command, raw.wall_seconds, raw.lines, payload, raw.observe,
                               under=raw.under)
        paths = [Path(ln.path) for ln in raw.lines] + [Path(p) for p in getattr(prepared, "files", [])]
        files = sorted({str((p if p.is_absolute() else root / p).resolve()) for p in paths})
        findings = list(join.analyse(root, files))
        if hasattr(join, "covered"):
            covered = {(str(p), int(n)) for p, n in join.covered(findings)}
        else:
            covered = {(str(f["path"]), int(f["line"])) for f in findings}
    except Exception as exc:  # the linter's join must never cost the profile
        notes.append(f"the linter's join failed ({exc!r}); findings are missing")
        return [], set()
    return findings, covered


def run_profile(args: argparse.Namespace, script: str | None, module: str | None,
                program_args: list[str], command: list[str]) -> tuple[RawResult | None, int, list[str], Any]:
    """Run the child; returns (raw result or None when lost, exit code, notes, the join's preparation)."""
    cwd = Path.cwd()
    join = None if args.no_lint else _load_join()
    notes: list[str] = []
    prepared = _prepare(join, cwd, args, notes)
    payload = getattr(prepared, "payload", None)
    observe_payload = payload if isinstance(payload, dict) and payload.get("sites") else None
    tmp = Path(tempfile.mkdtemp(prefix="pyfast-profile-"))
    try:
        spec = {"mode": "script" if script else "module", "target": script or module, "argv": program_args,
                "cwd": str(cwd), "interval_ms": args.interval_ms, "sampler": args.sampler,
                "include": args.include, "exclude": args.exclude, "output": str(tmp / "raw.json"),
                "observe": observe_payload, "command": command, "stacks": args.speedscope is not None}
        (tmp / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "runtime_check.profile.child", str(tmp / "spec.json")])
        interrupted = False
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while True:
            try:
                if deadline is None:
                    proc.wait()
                else:
                    try:
                        proc.wait(max(0.0, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        note = _stop(proc)
                        if note:
                            notes.append(note)
                break
            except KeyboardInterrupt:  # Ctrl-C reached the child too: let it write what it has
                interrupted = True
                try:
                    proc.wait(STOP_GRACE_S)
                except (subprocess.TimeoutExpired, KeyboardInterrupt):
                    note = _stop(proc)
                    if note:
                        notes.append(note)
                break
        rc = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
        raw_path = tmp / "raw.json"
        if not raw_path.exists():
            notes.append("the profile is lost: the program's process ended without writing it")
            return None, rc, notes, prepared
        raw = RawResult.from_json(json.loads(raw_path.read_text(encoding="utf-8")))
        if interrupted:
            return raw, 130, notes, prepared
        return raw, raw.exit_code, notes, prepared
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = _parser()
    try:
        options, script, module, program_args = split_argv(argv)
    except UsageError as exc:
        ap.error(str(exc))
    args = ap.parse_args(options)
    if script is None and module is None:
        ap.error("give a script or -m module to profile")
    if args.interval_ms <= 0 or (args.duration is not None and args.duration <= 0):
        ap.error("--interval-ms and --duration must be positive")
    if not 0.0 <= args.min_share < 1.0:
        ap.error("--min-share must be in [0, 1)")
    if script is not None and not Path(script).is_file():
        print(f"pyfast-check profile: error: {script}: no such file", file=sys.stderr)
        return 2
    command = [script] if script else ["-m", module or ""]
    command += program_args
    raw, rc, notes, prepared = run_profile(args, script, module, program_args, command)
    if raw is None:
        for note in notes:
            print(f"pyfast-check profile: {note}", file=sys.stderr)
        return rc if rc else 2
    join = None if args.no_lint else _load_join()
    findings, covered = _analyse(join, raw, prepared, Path(raw.cwd), notes)
    from runtime_check.profile.report import build_report

    report = build_report(raw, findings, covered, min_share=args.min_share)
    report.notes.extend(notes)
    if not _outputs(args, raw, report):
        return rc or 2
    if args.compare:
        return _compare(args, raw, script, module, program_args, findings) or rc
    return rc


def _compare(args: argparse.Namespace, raw: RawResult, script: str | None, module: str | None,
             program_args: Sequence[str], findings: Sequence[dict[str, Any]]) -> int:
    from runtime_check.profile.compare import CompareError, compare

    try:
        got = compare(Path(raw.cwd), "script" if script else "module", script or module or "", program_args,
                      findings, raw.wall_seconds, rounds=max(1, args.compare_rounds), unsafe=args.unsafe_fixes,
                      min_share=args.min_share or None)
    except (CompareError, OSError, subprocess.SubprocessError) as exc:
        print(f"pyfast-check profile: --compare: {exc}", file=sys.stderr)
        return 2
    fixes = ", ".join(f"{code} x{n}" for code, n in sorted(got.fixes.items())) or "none"
    print(f"compare: fixed {fixes}; measured {got.measured_speedup:.2f}x (per-round {got.spread[0]:.2f}-"
          f"{got.spread[1]:.2f}x, {got.rounds} rounds) vs estimated {got.estimated_speedup:.2f}x; exit codes "
          f"{got.exit_codes[0]}/{got.exit_codes[1]}; output {'the same' if got.same_output else 'DIFFERENT'}"
          + (f"; {got.note}" if got.note else ""), file=sys.stderr)
    if args.json:
        data = json.loads(args.json.read_text(encoding="utf-8"))
        data["compare"] = got.to_json()
        write_json_atomic(args.json, data)
    return 0


def _outputs(args: argparse.Namespace, raw: RawResult, report: Report) -> bool:
    """Write --json / --speedscope and print the report; False when a file could not be written."""
    written = []
    ok = True
    try:
        if args.json:
            write_json_atomic(args.json, report.to_json())
            written.append(f"JSON: {args.json}")
        if args.speedscope:
            from runtime_check.profile.speedscope import write_speedscope

            write_speedscope(raw, args.speedscope)
            written.append(f"speedscope: {args.speedscope} (open it at https://www.speedscope.app)")
    except OSError as exc:
        print(f"pyfast-check profile: error: {exc.filename or ''}: cannot write: {exc.strerror or exc}",
              file=sys.stderr)
        ok = False
    if args.no_report and not args.svg:
        return ok
    try:
        from rich.console import Console
    except ImportError:  # the profiler needs only the standard library; rich only makes the report prettier
        if args.svg:
            print(f"pyfast-check profile: error: {args.svg}: the SVG picture needs rich "
                  "(pip install 'pyfast[harness]')", file=sys.stderr)
            ok = False
        if not args.no_report:
            from runtime_check.profile.report import format_plain

            sys.stderr.write(format_plain(report) + "".join(line + "\n" for line in written))
        return ok
    from runtime_check.profile.report import print_report

    if not args.no_report:
        console = Console(stderr=True, width=None if sys.stderr.isatty() else 150)
        print_report(report, console)
        for line in written:
            console.print(line)
    if args.svg:
        picture = Console(record=True, file=io.StringIO(), width=150, force_terminal=True)
        print_report(report, picture)
        try:
            write_text_atomic(args.svg, picture.export_svg(title=f"pyfast-check profile {' '.join(report.command)}"))
        except OSError as exc:
            print(f"pyfast-check profile: error: {args.svg}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            ok = False
    return ok


if __name__ == "__main__":
    raise SystemExit(main())

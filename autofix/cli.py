"""``pyfast-fix``: rewrite what the PYF rules find.

Exit codes: 0 nothing left to report; 1 findings left, or files would change (``--check``,
``--diff``); 2 usage errors, unreadable or unparsable files, fixes that failed verification, and
internal errors. Every file is processed even when others fail.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from autofix.config import Config, ConfigError, find_pyproject, load_config
from autofix.diff import unified_diff
from autofix.engine import FixError, SourceError, fix_source
from autofix.files import FileError, SourceFile, decode, discover, read_source, write_atomic
from autofix.selection import Selection, SelectionError, check_codes
from flake8_pyfast import __version__
from flake8_pyfast.analysis.measured import ProfileError
from flake8_pyfast.analysis.measured import load as load_profile
from flake8_pyfast.checker import Settings
from flake8_pyfast.config import table_for
from flake8_pyfast.model import Finding


@dataclass
class Options:
    selection: Selection
    settings: Settings
    unsafe: bool
    mode: str  # "write" | "diff" | "check"
    root: str
    #: read the hot/cold function keys from the ``[tool.pyfast]`` nearest to each file, as flake8
    #: and the codemods do (off with ``--config`` / ``--isolated``, which name one configuration)
    nearest: bool = False
    #: ``--profile``: the profile to read (default: the nearest ``.pyfast/profile.json``)
    profile: Path | None = None
    #: ``--min-share``: fix only findings whose lines took at least this share of the profiled run
    min_share: float | None = None


@dataclass
class FileReport:
    path: str
    error: str | None = None
    changed: bool = False
    diff: str = ""
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    fixed_text: str | None = None


def process(path: str, options: Options, src: SourceFile | None = None) -> FileReport:
    """Lint and fix one file. Never raises: problems become ``FileReport.error``."""
    report = FileReport(path)
    try:
        if src is None:
            src = read_source(Path(path))
        rel = _relative(path, options.root)
        settings = options.settings
        if options.nearest and path != "-":
            settings = table_for(path).heat.settings()
        outcome = fix_source(src.text, options.selection, unsafe=options.unsafe, settings=settings, path=rel,
                             file=None if path == "-" else path, profile=options.profile,
                             min_share=options.min_share)
    except (FileError, SourceError, FixError, ConfigError) as exc:
        report.error = str(exc)
        return report
    except Exception:  # a bug in pyfast: report it, keep going with the other files
        report.error = "internal error, please report it:\n" + traceback.format_exc()
        return report
    report.applied = outcome.applied
    report.remaining = outcome.remaining
    report.changed = outcome.changed
    if not outcome.changed:
        return report
    report.fixed_text = outcome.fixed
    if options.mode == "diff":
        report.diff = "".join(unified_diff(
            src.text.splitlines(keepends=True), outcome.fixed.splitlines(keepends=True),
            fromfile=f"a/{path}", tofile=f"b/{path}",
        ))
    elif options.mode == "write" and path != "-":
        try:
            write_atomic(src, outcome.fixed)
        except FileError as exc:
            report.error = str(exc)
        except OSError as exc:
            report.error = f"cannot write: {exc.strerror or exc}"
    return report


def _relative(path: str, root: str) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return path


def _process_star(args: tuple[str, Options]) -> FileReport:
    return process(*args)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="pyfast-fix",
        description="Rewrite slow NumPy / PyTorch / PyBullet patterns that the PYF rules find.",
        epilog="Exit codes: 0 nothing left to report, 1 findings left or files would change, 2 errors.",
    )
    ap.add_argument("paths", nargs="*", default=None, metavar="PATH",
                    help="files or folders (default: .); '-' reads standard input and writes the result to "
                         "standard output")
    ap.add_argument("--unsafe-fixes", action="store_true", default=None,
                    help="also apply fixes that can change behaviour (aliasing, rounding, RNG stream, ...)")
    ap.add_argument("--no-unsafe-fixes", dest="unsafe_fixes", action="store_false",
                    help="override unsafe-fixes = true from the configuration")
    ap.add_argument("--select", type=_codes, metavar="CODES", help="comma-separated codes or prefixes to check")
    ap.add_argument("--ignore", type=_codes, metavar="CODES", help="comma-separated codes or prefixes to skip")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print a unified diff, write nothing")
    mode.add_argument("--check", action="store_true", help="write nothing; say which files would change")
    ap.add_argument("-j", "--jobs", type=positive_int, default=None, metavar="N",
                    help="processes to use (default: all cores)")
    ap.add_argument("--output-format", choices=("text", "json", "github"), default="text")
    ap.add_argument("--stdin-filename", metavar="NAME",
                    help="the path of the file read from standard input (for configuration and messages)")
    cfg = ap.add_mutually_exclusive_group()
    cfg.add_argument("--config", type=Path, metavar="PATH", help="a pyproject.toml to read [tool.pyfast] from")
    cfg.add_argument("--isolated", action="store_true", help="ignore configuration files")
    prof = ap.add_argument_group("profile (a `pyfast-check profile` run)")
    prof.add_argument("--profile", type=Path, metavar="PATH",
                      help="read measured kinds, heat and costs from this profile (default: the nearest "
                      ".pyfast/profile.json, unless [tool.pyfast] profile = false)")
    prof.add_argument("--min-share", type=_share, metavar="SHARE",
                      help="fix only findings whose lines took at least this share of the profiled run "
                      "(e.g. 0.01); findings in files the profile does not cover are left alone")
    ap.add_argument("--show-fixes", action="store_true", help="list each fix applied (or that would be)")
    ap.add_argument("--statistics", action="store_true", help="count findings and fixes per code")
    ap.add_argument("--exit-zero", action="store_true", help="exit 0 even if findings are left (errors still 2)")
    ap.add_argument("--no-default-path", action="store_true",
                    help="with no PATH, do nothing instead of checking '.' (for hooks that pass file lists)")
    ap.add_argument("--version", action="version", version=f"pyfast-fix {__version__}")
    return ap


def _codes(text: str) -> tuple[str, ...]:
    try:
        return check_codes(text.split(","), "--select/--ignore")
    except SelectionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1 (a share of the run, 0.01 = 1%)")
    return value


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (also used by ``pyfast-check``)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _load(args: argparse.Namespace, paths: Sequence[str]) -> Config:
    if args.isolated:
        return Config()
    if args.config is not None:
        if not args.config.is_file():
            raise ConfigError(f"{args.config}: no such file")
        return load_config(args.config)
    anchor = args.stdin_filename or (paths[0] if paths else ".")
    start = Path(anchor)
    start = start if start.is_dir() else start.parent
    return load_config(find_pyproject(start if str(start) else Path.cwd()))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("pyfast-fix: interrupted", file=sys.stderr)
        return 130
    except Exception:  # never a bare traceback with a misleading exit code
        print("pyfast-fix: internal error, please report it:\n" + traceback.format_exc(), file=sys.stderr)
        return 2


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.paths and args.no_default_path:
        return 0
    paths: list[str] = args.paths or ["."]
    out, err = sys.stdout, sys.stderr
    try:
        config = _load(args, paths)
    except ConfigError as exc:
        print(f"pyfast-fix: error: {exc}", file=err)
        return 2
    options = Options(
        selection=config.selection(args.select, args.ignore),
        settings=config.settings(),
        unsafe=config.unsafe_fixes if args.unsafe_fixes is None else args.unsafe_fixes,
        mode="diff" if args.diff else "check" if args.check else "write",
        root=str(config.root),
        nearest=not args.isolated and args.config is None,
        profile=args.profile,
        min_share=args.min_share,
    )
    if args.profile is not None:
        try:
            load_profile(args.profile)
        except ProfileError as exc:
            print(f"pyfast-fix: error: {exc}", file=err)
            return 2
    if paths == ["-"]:
        return _stdin(args, options, out, err)
    if "-" in paths:
        print("pyfast-fix: error: '-' (standard input) cannot be combined with other paths", file=err)
        return 2
    reports: list[FileReport] = []
    files: list[str] = []
    for found in discover(paths, config.root, config.exclude):
        if found.note:
            if "outside the project" in found.note:
                print(f"{found.path}: skipped: {found.note}", file=err)
            else:
                reports.append(FileReport(str(found.path), error=found.note))
        else:
            files.append(str(found.path))
    reports.extend(_run(files, options, args.jobs))
    return _report(reports, options, args, out, err)


def _run(files: list[str], options: Options, jobs: int | None) -> list[FileReport]:
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(files) < 4:
        return [process(f, options) for f in files]
    with ProcessPoolExecutor(max_workers=min(jobs, len(files))) as pool:
        return list(pool.map(_process_star, [(f, options) for f in files], chunksize=max(1, len(files) // (jobs * 4))))


def _stdin(args: argparse.Namespace, options: Options, out: TextIO, err: TextIO) -> int:
    name = args.stdin_filename or "-"
    raw = sys.stdin.buffer.read()
    try:
        src = decode(raw, name)
    except FileError as exc:
        print(f"{name}: error: {exc}", file=err)
        sys.stdout.buffer.write(raw)
        return 2
    report = process("-", options, src)
    report.path = name
    if report.error:
        print(f"{name}: error: {report.error}", file=err)
        sys.stdout.buffer.write(raw)  # editors replace the buffer with what we print: give it back intact
        return 2
    if options.mode == "diff":
        out.write(report.diff.replace("a/-", f"a/{name}").replace("b/-", f"b/{name}"))
    elif options.mode == "write":
        out.flush()
        sys.stdout.buffer.write(src.encode(report.fixed_text if report.changed and report.fixed_text else src.text))
    return _report([report], options, args, err, err, quiet_summary=options.mode == "write")


def _report(reports: list[FileReport], options: Options, args: argparse.Namespace, out: TextIO, err: TextIO,
            quiet_summary: bool = False) -> int:
    reports.sort(key=lambda r: r.path)
    errors = [r for r in reports if r.error]
    remaining = [(r.path, f) for r in reports for f in r.remaining]
    applied = [(r.path, f) for r in reports for f in r.applied]
    changed = [r for r in reports if r.changed and not r.error]
    would = options.mode != "write"
    if args.output_format == "json":
        json.dump(_json(reports, options, would), out, indent=2)
        out.write("\n")
    else:
        for r in reports:
            if r.diff:
                out.write(r.diff)
        if options.mode == "check":
            for r in changed:
                print(f"would fix: {r.path}", file=out)
        for path, f in remaining:
            out.write(_line(path, f, options, args.output_format))
        for r in errors:
            if args.output_format == "github":
                out.write(f"::error file={r.path}::{_gh(r.error or '')}\n")
            print(f"{r.path}: error: {r.error}", file=err)
        if args.show_fixes:
            for path, f in applied:
                verb = "would fix" if would else "fixed"
                print(f"{path}:{f.line}:{f.col + 1}: {f.code} {verb} ({'safe' if f.fix and f.fix.safe else 'unsafe'})",
                      file=err)
        if args.statistics:
            _statistics(applied, remaining, err)
        if not quiet_summary:
            _summary(applied, remaining, changed, errors, options, err)
    if errors:
        return 2
    if args.exit_zero:
        return 0
    if remaining or (would and changed):
        return 1
    return 0


def _line(path: str, f: Finding, options: Options, fmt: str) -> str:
    note = ""
    if f.fix is not None and not f.fix.safe and not options.unsafe:
        note = " [unsafe fix available: --unsafe-fixes]"
    if fmt == "github":
        return (f"::warning file={path},line={f.line},col={f.col + 1},endLine={f.end_line},"
                f"endColumn={f.end_col + 1},title={f.code}::{_gh(f.message + note)}\n")
    return f"{path}:{f.line}:{f.col + 1}: {f.code} {f.message}{note}\n"


def _gh(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _summary(applied: list[tuple[str, Finding]], remaining: list[tuple[str, Finding]], changed: list[FileReport],
             errors: list[FileReport], options: Options, err: TextIO) -> None:
    verb = "Would fix" if options.mode != "write" else "Fixed"
    parts = [f"{verb} {len(applied)} finding(s) in {len(changed)} file(s)"]
    left = len(remaining)
    unsafe_left = sum(1 for _, f in remaining if f.fix is not None and not f.fix.safe and not options.unsafe)
    parts.append(f"{left} left" + (f" ({unsafe_left} fixable with --unsafe-fixes)" if unsafe_left else ""))
    if errors:
        parts.append(f"{len(errors)} file(s) with errors")
    print("; ".join(parts) + ".", file=err)


def _statistics(applied: list[tuple[str, Finding]], remaining: list[tuple[str, Finding]], err: TextIO) -> None:
    fixed = Counter(f.code for _, f in applied)
    left = Counter(f.code for _, f in remaining)
    print(f"{'code':8s} {'fixed':>6s} {'left':>6s}", file=err)
    for code in sorted(set(fixed) | set(left)):
        print(f"{code:8s} {fixed[code]:6d} {left[code]:6d}", file=err)


def _json(reports: list[FileReport], options: Options, would: bool) -> dict[str, Any]:
    def finding(path: str, f: Finding, applied: bool) -> dict[str, Any]:
        return {
            "path": path, "code": f.code, "message": f.message, "line": f.line, "column": f.col + 1,
            "end_line": f.end_line, "end_column": f.end_col + 1,
            "fix": None if f.fix is None else {"safe": f.fix.safe, "reason": f.fix.reason, "applied": applied},
        }

    return {
        "version": __version__,
        "mode": options.mode,
        "unsafe_fixes": options.unsafe,
        "findings": [finding(r.path, f, False) for r in reports for f in r.remaining],
        "fixes": [finding(r.path, f, True) for r in reports for f in r.applied],
        "changed_files": [r.path for r in reports if r.changed and not r.error],
        "errors": [{"path": r.path, "message": r.error} for r in reports if r.error],
        "would_change": would,
    }


if __name__ == "__main__":
    raise SystemExit(main())

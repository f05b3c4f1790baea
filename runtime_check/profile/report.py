"""Build the profile report from the raw result (plus the linter's findings) and print it with rich."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runtime_check.profile.model import LineReport, RawResult, Report

TOP_LINES = 15


def build_report(raw: RawResult, findings: Iterable[dict[str, Any]] | None = None,
                 covered: Iterable[tuple[str, int]] | None = None, min_share: float = 0.0) -> Report:
    """Shares are of the main thread's sampled time; ``covered`` are (path, line) a rule speaks for."""
    total = raw.sampled_seconds or raw.wall_seconds or 1.0
    all_lines = [LineReport(ln.path, ln.line, ln.seconds, ln.seconds / total,
                            (ln.native_seconds / ln.seconds) if ln.seconds > 0 else 0.0, ln.code, ln.function)
                 for ln in raw.lines]
    all_lines.sort(key=lambda r: (-r.seconds, r.path, r.line))
    lines = [r for r in all_lines if r.share >= min_share]
    found = sorted((dict(f) for f in findings or ()), key=lambda f: -float(f.get("seconds") or 0.0))
    found = [f for f in found if float(f.get("share") or 0.0) >= min_share]
    covered_set = {(str(p), int(n)) for p, n in covered or ()}
    uncovered = [{"path": r.path, "line": r.line, "seconds": round(r.seconds, 6), "share": round(r.share, 6),
                  "code": r.code} for r in lines if (r.path, r.line) not in covered_set]
    threads = []
    for t in raw.threads:
        t_total = t.seconds or 1.0
        threads.append({"name": t.name, "seconds": round(t.seconds, 6),
                        "lines": [{"path": ln.path, "line": ln.line, "seconds": round(ln.seconds, 6),
                                   "share": round(ln.seconds / t_total, 6), "code": ln.code}
                                  for ln in t.lines if ln.seconds / t_total >= min_share]})
    notes = []
    if raw.stopped:
        notes.append("the program was stopped after --duration; the profile covers the time until then")
    if raw.error:
        notes.append(raw.error)
    if raw.other_seconds > 0.05 * total:
        notes.append(f"{raw.other_seconds / total:.0%} of the time no frame of your code was on the stack "
                     "(imports, interpreter start-up, library threads); --include DIR widens what counts as yours")
    return Report(command=raw.command, python=raw.python, wall_seconds=raw.wall_seconds, samples=raw.samples,
                  interval_ms=raw.interval_ms, exit_code=raw.exit_code, sampler=raw.sampler, stopped=raw.stopped,
                  lines=lines, findings=found, uncovered=uncovered, threads=threads,
                  sampled_seconds=raw.sampled_seconds,
                  overhead_share=raw.handler_seconds / raw.wall_seconds if raw.wall_seconds else 0.0,
                  min_share=min_share, hidden_lines=len(all_lines) - len(lines), notes=notes)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def print_report(report: Report, console: Any = None, top: int = TOP_LINES) -> None:
    """The terminal report: header, where the time goes, findings by cost, hot lines no rule covers."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    header = Text()
    header.append("pyfast-check profile", style="bold")
    header.append(f"  {' '.join(report.command)}\n")
    header.append(f"wall {report.wall_seconds:.2f} s, {report.samples} samples every {report.interval_ms:g} ms "
                  f"({report.sampler} sampler, its own time {_pct(report.overhead_share)} of the run), "
                  f"Python {report.python}, exit code {report.exit_code}")
    console.print(header)
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")

    table = Table(title="Where the time goes (main thread)", title_justify="left", expand=False)
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    table.add_column("native", justify="right")
    table.add_column("line", overflow="fold")
    table.add_column("code", overflow="ellipsis", no_wrap=True, max_width=70)
    for r in report.lines[:top]:
        table.add_row(f"{r.seconds:.3f}", _pct(r.share), _pct(r.native_share), f"{r.path}:{r.line} ({r.function})",
                      Text(r.code))
    console.print(table)
    if len(report.lines) > top or report.hidden_lines:
        console.print(f"  {max(0, len(report.lines) - top) + report.hidden_lines} more lines "
                      f"(--min-share {report.min_share:g} hides {report.hidden_lines}; --json has all shown)")

    if report.findings:
        ft = Table(title="Findings ranked by what they cost", title_justify="left")
        for col in ("seconds", "share", "factor", "saving", "finding"):
            ft.add_column(col, justify="right" if col != "finding" else "left", overflow="fold")
        for f in report.findings:
            seconds = float(f.get("seconds") or 0.0)
            saving = f.get("estimated_saving_seconds")
            factor = f.get("factor")
            if factor is None and isinstance(saving, (int, float)) and 0 < saving < seconds:
                factor = seconds / (seconds - saving)
            ft.add_row(f"{seconds:.3f}", _pct(float(f.get("share") or 0.0)),
                       f"{factor:.2g}x" if isinstance(factor, (int, float)) else "-",
                       f"{saving:.3f} s" if isinstance(saving, (int, float)) else "-",
                       Text(f"{f.get('path')}:{f.get('line')}:{f.get('col', 0)}: "
                            f"{f.get('code')} {f.get('message', '')}"))
        console.print(ft)
    else:
        console.print("Findings ranked by what they cost: none (no rule fires on the hot lines, or the linter "
                      "was not run: --no-lint)")

    if report.uncovered:
        ut = Table(title="Hot lines no rule covers", title_justify="left")
        ut.add_column("share", justify="right")
        ut.add_column("line")
        ut.add_column("code", overflow="ellipsis", no_wrap=True, max_width=70)
        for u in report.uncovered[:top]:
            ut.add_row(_pct(u["share"]), f"{u['path']}:{u['line']}", Text(u["code"]))
        console.print(ut)

    for t in report.threads:
        tt = Table(title=f"Thread {t['name']}: {t['seconds']:.2f} s sampled (kept apart from the main thread)",
                   title_justify="left")
        tt.add_column("share", justify="right")
        tt.add_column("line")
        tt.add_column("code", overflow="ellipsis", no_wrap=True, max_width=70)
        for ln in t["lines"][:5]:
            tt.add_row(_pct(ln["share"]), f"{ln['path']}:{ln['line']}", Text(ln["code"]))
        console.print(tt)

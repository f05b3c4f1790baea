"""Build the profile report from the raw result (plus the linter's findings) and print it (with rich if installed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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


@dataclass
class _Table:
    title: str
    columns: list[tuple[str, str]]  # (name, "right" | "left")
    rows: list[list[str]] = field(default_factory=list)


Block = str | _Table


def _blocks(report: Report, top: int) -> list[Block]:
    """The report as plain lines and tables, rendered by rich when it is installed and as text otherwise."""
    out: list[Block] = [
        f"pyfast-check profile  {' '.join(report.command)}",
        f"wall {report.wall_seconds:.2f} s, {report.samples} samples every {report.interval_ms:g} ms "
        f"({report.sampler} sampler, its own time {_pct(report.overhead_share)} of the run), "
        f"Python {report.python}, exit code {report.exit_code}",
    ]
    out += [f"note: {note}" for note in report.notes]

    table = _Table("Where the time goes (main thread)", [("seconds", "right"), ("share", "right"),
                                                          ("native", "right"), ("line", "left"), ("code", "left")])
    for r in report.lines[:top]:
        table.rows.append([f"{r.seconds:.3f}", _pct(r.share), _pct(r.native_share),
                           f"{r.path}:{r.line} ({r.function})", r.code])
    out.append(table)
    if len(report.lines) > top or report.hidden_lines:
        out.append(f"  {max(0, len(report.lines) - top) + report.hidden_lines} more lines "
                   f"(--min-share {report.min_share:g} hides {report.hidden_lines}; --json has all shown)")

    timed = [f for f in report.findings if float(f.get("seconds") or 0.0) > 0]
    if timed:
        ft = _Table("Findings ranked by what they cost", [("seconds", "right"), ("share", "right"),
                                                           ("factor", "right"), ("saving", "right"),
                                                           ("finding", "left")])
        for f in timed:
            seconds = float(f.get("seconds") or 0.0)
            saving = f.get("estimated_saving_seconds")
            factor = f.get("factor")
            if factor is None and isinstance(saving, (int, float)) and 0 < saving < seconds:
                factor = seconds / (seconds - saving)
            ft.rows.append([f"{seconds:.3f}", _pct(float(f.get("share") or 0.0)),
                            f"{factor:.2g}x" if isinstance(factor, (int, float)) else "-",
                            f"{saving:.3f} s" if isinstance(saving, (int, float)) else "-",
                            f"{f.get('path')}:{f.get('line')}:{f.get('col', 0)}: "
                            f"{f.get('code')} {f.get('message', '')}"])
        out.append(ft)
    else:
        out.append("Findings ranked by what they cost: none (no rule fires on the sampled lines, or the linter "
                   "was not run: --no-lint)")
    if len(timed) < len(report.findings):
        out.append(f"  {len(report.findings) - len(timed)} more findings on lines no sample hit (code the run did "
                   "not reach, or too fast to matter); --json lists them")

    if report.uncovered:
        ut = _Table("Hot lines no rule covers", [("share", "right"), ("line", "left"), ("code", "left")])
        ut.rows += [[_pct(u["share"]), f"{u['path']}:{u['line']}", u["code"]] for u in report.uncovered[:top]]
        out.append(ut)

    for t in report.threads:
        tt = _Table(f"Thread {t['name']}: {t['seconds']:.2f} s sampled (kept apart from the main thread)",
                    [("share", "right"), ("line", "left"), ("code", "left")])
        tt.rows += [[_pct(ln["share"]), f"{ln['path']}:{ln['line']}", ln["code"]] for ln in t["lines"][:5]]
        out.append(tt)
    return out


CODE_WIDTH = 70


def print_report(report: Report, console: Any = None, top: int = TOP_LINES) -> None:
    """The terminal report on a rich ``Console`` (header, where the time goes, findings by cost, hot lines
    no rule covers)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    for block in _blocks(report, top):
        if isinstance(block, str):
            console.print(Text(block))
            continue
        table = Table(title=block.title, title_justify="left", expand=False)
        for name, justify in block.columns:
            if name == "code":
                table.add_column(name, overflow="ellipsis", no_wrap=True, max_width=CODE_WIDTH)
            else:
                table.add_column(name, justify="right" if justify == "right" else "left", overflow="fold")
        for row in block.rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)


def format_plain(report: Report, top: int = TOP_LINES) -> str:
    """The same report as plain aligned text, for environments without rich."""
    lines: list[str] = []
    for block in _blocks(report, top):
        if isinstance(block, str):
            lines.append(block)
            continue
        rows = [[cell if name != "code" or len(cell) <= CODE_WIDTH else cell[:CODE_WIDTH - 3] + "..."
                 for (name, _), cell in zip(block.columns, row, strict=True)] for row in block.rows]
        header = [name for name, _ in block.columns]
        widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
        lines += ["", block.title]
        lines += ["  ".join(c.rjust(w) if j == "right" else c.ljust(w)
                            for c, w, (_, j) in zip(cells, widths, block.columns, strict=True)).rstrip()
                  for cells in (header, *rows)]
    return "\n".join(lines) + "\n"

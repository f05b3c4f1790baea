"""Show a check's results: a rich table, a JSON file and a PNG chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flake8_pyfast.rule import SPEEDUPS_RECORDED
from flake8_pyfast.rules import rule_by_code
from runtime_check.check import CheckReport, RuleResult, to_json
from runtime_check.stats import CHANGES_RESULTS, CONFIRMED, NO_GAIN, SLOWER

COLOURS = {CONFIRMED: "green", NO_GAIN: "grey50", SLOWER: "red", CHANGES_RESULTS: "magenta"}
PLOT_COLOURS = {CONFIRMED: "#2e7d32", NO_GAIN: "#9e9e9e", SLOWER: "#c62828", CHANGES_RESULTS: "#8e24aa"}
#: rows that are not one rule (both measured on whole epochs)
NAMES = {"all": "all fixes", "control": "A/A control"}


def _x(value: float) -> str:
    return "-" if value != value else f"{value:.2f}x"


def _ci(ci: tuple[float, float]) -> str:
    return "-" if ci[0] != ci[0] else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def recorded_factors(codes: list[str]) -> str:
    """What the committed ``bench/pattern_speed.py`` run measured for these rules' patterns, with its date
    (a report quotes only what this run or a committed bench measured)."""
    parts = [f"{code} {key}: {speedup.claim}" for code in codes for key, speedup in rule_by_code(code).speedups.items()]
    return f"bench/pattern_speed.py on a CPU, {SPEEDUPS_RECORDED}: " + "; ".join(parts)


def print_report(report: CheckReport, console: Any) -> None:
    from rich.table import Table

    env = report.environment
    o = report.options
    console.print(
        f"[bold]pyfast-check[/bold] on [bold]{o.workload}[/bold]: device {env['device']}, {env['cpu']} "
        f"({env['cores']} cores), {o.threads} thread(s); {env['python']}, torch {env['torch']}, "
        f"numpy {env['numpy']}, pybullet {env['pybullet']}"
    )
    clock = "process CPU time" if o.resolved_clock == "cpu" else "wall-clock time"
    console.print(
        f"{o.rounds} rounds; in each, the baseline and each variant run in two processes taking turns epoch by "
        f"epoch (who starts alternates by round); {o.warmup_epochs} warm-up epoch(s) excluded, then {o.epochs} "
        f"epoch pairs of {o.steps} steps; seed {o.seed}; {clock}; 95% CI: bootstrap over rounds, then epochs"
    )
    table = Table(show_lines=False)
    for col, just in (("Rule", "left"), ("Kind", "left"), ("Found", "right"), ("Fixed", "right"),
                      ("Measured in", "left"), ("Speedup", "right"), ("95% CI", "right"), ("Verdict", "left"),
                      ("Results", "left"), ("Whole epoch", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in report.rules:
        table.add_row(*_row(r, report))
    if report.overall is not None or report.control is not None:
        table.add_section()
    if report.overall is not None:
        table.add_row(*_row(report.overall, report))
    if report.control is not None:
        table.add_row(*_row(report.control, report))
    console.print(table)
    phases = report.baseline_phases
    total = phases.get("total", 0.0) or 1.0
    parts = ", ".join(f"{k} {v * 1e3:.0f} ms ({100 * v / total:.0f}%)" for k, v in phases.items() if k != "total")
    console.print(f"Baseline epoch {total * 1e3:.0f} ms: {parts}; the rest is Python glue (GAE, bookkeeping).")
    if any(r.gpu_target for r in report.rules) and not o.device.startswith("cuda"):
        gpu_rules = [r.code for r in report.rules if r.gpu_target]
        console.print(f"[yellow]{', '.join(gpu_rules)} target GPU syncs and transfers; measured here on the CPU, "
                      f"where their gain may not exist ({recorded_factors(gpu_rules)}).[/yellow]")
    if report.reproducible is not None and report.reproducible.equivalent:
        console.print("The baseline reproduced itself bit for bit across processes.")
    for warning in report.warnings:
        console.print(f"[yellow]warning: {warning}[/yellow]")
    for err in report.errors:
        console.print(f"[red]{err}[/red]")


def _row(r: RuleResult, report: CheckReport) -> list[str]:
    colour = COLOURS.get(r.verdict, "white")
    name = NAMES.get(r.code, r.code)
    where = "whole epoch" if r.phase == "total" else f"{r.phase} phase"
    if r.kind == "case":
        where = f"case ({r.phase})"
    if r.gpu_target and not report.options.device.startswith("cuda"):
        where += ", CPU"
    results = r.equivalence if r.equivalent else "[magenta]differ[/magenta]"
    kind_fix = r.kind in ("fix", "control")
    return [
        name, r.kind, str(r.findings) if r.kind != "control" else "-", str(r.fixes) if r.kind == "fix" else "-",
        where, _x(r.speedup), _ci(r.ci), f"[{colour}]{r.verdict}[/{colour}]", results,
        _x(r.epoch_speedup) if kind_fix else "-",
    ]


def write_json(report: CheckReport, path: Path) -> None:
    path.write_text(json.dumps(to_json(report), indent=2) + "\n", encoding="utf-8")


def write_plot(report: CheckReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(report.rules) + [r for r in (report.overall, report.control) if r is not None]
    labels = [f"{NAMES[r.code]} (epoch)" if r.code in NAMES else f"{r.code} ({r.kind})" for r in rows]
    values = [r.speedup for r in rows]
    lows = [max(0.0, r.speedup - r.ci[0]) for r in rows]
    highs = [max(0.0, r.ci[1] - r.speedup) for r in rows]
    colours = [PLOT_COLOURS.get(r.verdict, "#000000") for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.6))
    ys = list(range(len(rows)))[::-1]
    ax.barh(ys, [v - 1 for v in values], left=1, color=colours, xerr=[lows, highs], capsize=3)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(ys, labels)
    ax.set_xscale("log")
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10, 20, 50, 100)
             if min(values + [1.0]) / 1.5 <= t <= max(values + [1.0]) * 1.5]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("speedup (baseline time / fixed time), median and 95% bootstrap CI")
    env = report.environment
    ax.set_title(f"pyfast-check: {report.options.workload} on {env['device']} ({env['cpu']}, "
                 f"{report.options.threads} thread)", fontsize=9)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=c, label=v) for v, c in PLOT_COLOURS.items()], fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

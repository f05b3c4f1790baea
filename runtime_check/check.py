"""The proof run: lint the workload, fix it rule by rule, run everything, judge each speedup.

1. Lint the workload with the plugin's rules.
2. For each fixable rule present, one variant with only that rule's fixes (unsafe included), and
   one with all fixes; flag-only rules get their paired case from ``runtime_check/cases``.
3. Rounds: in each, the baseline and then every variant, each in its own process (same seed,
   same threads, a warm-up epoch excluded). Per round and variant: mean epoch time, phase times.
4. Equivalence against the baseline's trace (round 0): exact, else tolerance, else invariants,
   as far as the rule allows (its ``equivalence``; every fix together: ``expectations.ALL_FIXES``);
   the baseline must reproduce itself exactly.
5. Per rule: the paired speedup in the phase the fix works in (overall: whole epochs), median
   and 95% bootstrap interval over the rounds, and a verdict.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autofix.engine import fix_source, lint
from autofix.selection import Selection
from flake8_pyfast.rules import rule_by_code
from runtime_check import expectations
from runtime_check.cases import case_files
from runtime_check.equivalence import Equivalence, compare
from runtime_check.recorder import PHASES
from runtime_check.runner import load_trace, run_child, run_pair
from runtime_check.stats import CHANGES_RESULTS, NO_GAIN, bootstrap_median, bootstrap_nested, paired_speedups, verdict

WORKLOADS = {"kuka_ppo": Path(__file__).parent / "workloads" / "kuka_ppo.py"}
CONTROL = "control"  # the baseline against an identical copy of itself


@dataclass(frozen=True)
class CheckOptions:
    workload: str = "kuka_ppo"
    rounds: int = 8
    epochs: int = 6
    warmup_epochs: int = 1
    steps: int = 256
    seed: int = 0
    threads: int = 1
    device: str = "cpu"
    case_rounds: int = 15
    case_scale: float = 1.0
    clock: str = "wall"  # or "cpu": process CPU time (measured no steadier than wall time on a shared VM)
    rules: tuple[str, ...] = ()  # empty: every rule present
    control: bool = True  # time an identical copy of the baseline too: the noise floor

    @property
    def resolved_clock(self) -> str:
        return "wall" if self.device.startswith("cuda") else self.clock

    @classmethod
    def quick(cls, **kw: Any) -> CheckOptions:
        base = {"rounds": 4, "epochs": 4, "steps": 256, "case_rounds": 9, "case_scale": 0.4}
        base.update(kw)
        return cls(**base)


@dataclass
class RuleResult:
    code: str
    kind: str  # "fix" | "case"
    findings: int
    fixes: int = 0
    phase: str = ""
    speedup: float = float("nan")
    ci: tuple[float, float] = (float("nan"), float("nan"))
    epoch_speedup: float = float("nan")
    epoch_ci: tuple[float, float] = (float("nan"), float("nan"))
    verdict: str = ""
    equivalent: bool = False
    equivalence: str = ""
    detail: str = ""
    gpu_target: bool = False
    ratios: list[float] = field(default_factory=list)


@dataclass
class CheckReport:
    environment: dict[str, Any]
    options: CheckOptions
    findings: dict[str, int]
    rules: list[RuleResult]
    overall: RuleResult | None
    baseline_phases: dict[str, float]
    reproducible: Equivalence | None
    errors: list[str] = field(default_factory=list)
    control: RuleResult | None = None
    #: e.g. an A/A control outside its interval: the verdicts deserve suspicion, the run still counts
    warnings: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


def environment(device: str, threads: int) -> dict[str, Any]:
    """Device, CPU, threads and versions, probed in a child (where torch is already imported)."""
    return run_child("probe_environment", {"device": device, "threads": threads})


def plan(source: str) -> tuple[dict[str, int], dict[str, str], dict[str, int]]:
    """Findings per rule, the variant source per fixable rule (plus "all"), fixes per rule."""
    findings: dict[str, int] = {}
    for f in lint(source, Selection()):
        findings[f.code] = findings.get(f.code, 0) + 1
    variants: dict[str, str] = {}
    fixes: dict[str, int] = {}
    for code in sorted(findings):
        out = fix_source(source, Selection((code,)), unsafe=True)
        if out.changed:
            variants[code] = out.fixed
            fixes[code] = len(out.applied)
    everything = fix_source(source, Selection(), unsafe=True)
    if everything.changed:
        variants["all"] = everything.fixed
        fixes["all"] = len(everything.applied)
    return findings, variants, fixes


def run_check(options: CheckOptions, progress: Progress | None = None,
              total: Callable[[int], None] | None = None) -> CheckReport:
    tick = progress or (lambda _msg: None)
    source = WORKLOADS[options.workload].read_text(encoding="utf-8")
    findings, variants, fixes = plan(source)
    if options.rules:
        variants = {k: v for k, v in variants.items() if k in options.rules or k == "all"}
    cases = {code: path for code, path in case_files().items()
             if code in findings and code not in variants and (not options.rules or code in options.rules)}
    variant_names = [*[k for k in variants if k != "all"], *(["all"] if "all" in variants else [])]
    if options.control:
        variant_names.insert(0, CONTROL)
    if total is not None:
        total(len(variant_names) + 2 + options.rounds * len(variant_names) + len(cases))
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pyfast-check-") as tmp_name:
        tmp = Path(tmp_name)
        paths = {}
        for name in ("baseline", *variant_names):
            text = source if name in ("baseline", CONTROL) else variants[name]
            paths[name] = tmp / f"{options.workload}_{name}.py"
            paths[name].write_text(text, encoding="utf-8")
        config = {"epochs": options.epochs, "warmup_epochs": options.warmup_epochs, "steps": options.steps,
                  "seed": options.seed, "threads": options.threads, "device": options.device,
                  "clock": options.resolved_clock}

        def job(name: str) -> dict[str, Any]:
            return {"path": str(paths[name]), "module": f"pyfast_variant_{name}", "config": config}

        # warm-up: every source runs once (the first processes after the fork server starts are slow),
        # recording the traces for the equivalence checks; the baseline twice, to prove it reproduces
        traces: dict[str, dict[str, np.ndarray]] = {}
        for name in ("baseline", "baseline-repeat", *variant_names):
            tick(f"warm-up and traces: {name}")
            trace_path = tmp / f"trace_{name}.npz"
            run_child("run_workload", {**job("baseline" if name == "baseline-repeat" else name),
                                       "trace_path": str(trace_path)})
            traces[name] = load_trace(trace_path)
        reproducible = compare(traces["baseline"], traces.pop("baseline-repeat"), ("exact",))
        if not reproducible.equivalent:
            errors.append("the baseline did not reproduce itself bit for bit: equivalence checks are unreliable "
                          f"({reproducible.detail})")
        # timed pairs: the baseline and a variant in two processes taking turns epoch by epoch (A B A B ...),
        # which process goes first alternating by round; a fresh pair of processes every round
        pairs: dict[str, list[tuple[list[dict[str, float]], list[dict[str, float]]]]] = {n: [] for n in variant_names}
        for r in range(options.rounds):
            for name in variant_names:
                tick(f"round {r + 1}/{options.rounds}: {name}")
                if r % 2 == 0:
                    base, var = run_pair(job("baseline"), job(name))
                else:
                    var, base = run_pair(job(name), job("baseline"))
                pairs[name].append((base["epochs"], var["epochs"]))
        results = []
        for name in variant_names:
            whole = name in ("all", CONTROL)
            modes = expectations.ALL_FIXES if whole else rule_by_code(name).equivalence
            eq = compare(traces["baseline"], traces[name], modes, minibatch=64, samples=options.steps)
            phase = "total" if whole else rule_by_code(name).harness_phase
            res = _judge(name, "control" if name == CONTROL else "fix", findings.get(name, sum(findings.values())),
                         pairs[name], phase, eq)
            res.fixes = fixes.get(name, 0)
            results.append(res)
        overall = next((r for r in results if r.code == "all"), None)
        control = next((r for r in results if r.code == CONTROL), None)
        rules = [r for r in results if r.code not in ("all", CONTROL)]
        for code, path in sorted(cases.items()):
            tick(f"case {code}")
            out = run_child("run_case", {
                "path": str(path), "module": f"pyfast_case_{code}", "seed": options.seed,
                "threads": options.threads, "rounds": options.case_rounds, "clock": options.resolved_clock,
                "reps": max(1, int(_case_reps(path) * options.case_scale)),
            })
            ratios = [s / f for s, f in out["rounds"] if f > 0]
            median, lo, hi = bootstrap_median(ratios, seed=options.seed)
            rules.append(RuleResult(
                code=code, kind="case", findings=findings.get(code, 0), phase=rule_by_code(code).harness_phase,
                speedup=median, ci=(lo, hi), verdict=verdict(lo, hi, out["equivalent"]),
                equivalent=out["equivalent"], equivalence=out["how"] if out["equivalent"] else "different",
                ratios=ratios, gpu_target=rule_by_code(code).gpu_only_gain,
            ))
        rules.sort(key=lambda r: r.code)
        all_base = [e for rounds in pairs.values() for base, _ in rounds for e in base]
        baseline_phases = {k: float(np.median([e[k] for e in all_base])) for k in (*PHASES, "total")}
    warnings: list[str] = []
    if control is not None and control.verdict != NO_GAIN:
        warnings.append(f"the A/A control (the baseline against an identical copy) came out {control.verdict} "
                      f"({control.speedup:.2f}x, CI {control.ci[0]:.2f}-{control.ci[1]:.2f}): this machine is too "
                      "noisy for these verdicts; use more --rounds or a quieter machine")
    return CheckReport(
        environment=environment(options.device, options.threads), options=options, findings=findings,
        rules=rules, overall=overall, baseline_phases=baseline_phases, reproducible=reproducible, errors=errors,
        control=control, warnings=warnings,
    )


def _case_reps(path: Path) -> int:
    """A case's ``REPS``, read without importing it (the parent stays free of torch and pybullet)."""
    import ast

    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "REPS" for t in node.targets):
            return int(ast.literal_eval(node.value))
    return 100


def _judge(name: str, kind: str, n_findings: int,
           rounds: list[tuple[list[dict[str, float]], list[dict[str, float]]]], phase: str,
           eq: Equivalence) -> RuleResult:
    """Speedups per epoch pair (baseline epoch i / variant epoch i), grouped by round."""
    phase_groups = [paired_speedups([e[phase] for e in base], [e[phase] for e in var]) for base, var in rounds]
    epoch_groups = [paired_speedups([e["total"] for e in base], [e["total"] for e in var]) for base, var in rounds]
    median, lo, hi = bootstrap_nested(phase_groups)
    e_median, e_lo, e_hi = bootstrap_nested(epoch_groups)
    gpu = name not in ("all", CONTROL) and rule_by_code(name).gpu_only_gain
    return RuleResult(
        code=name, kind=kind, findings=n_findings, phase=phase, speedup=median, ci=(lo, hi),
        epoch_speedup=e_median, epoch_ci=(e_lo, e_hi), verdict=verdict(lo, hi, eq.equivalent),
        equivalent=eq.equivalent, equivalence=eq.how, detail=eq.detail, gpu_target=gpu,
        ratios=[x for g in phase_groups for x in g],
    )


def to_json(report: CheckReport) -> dict[str, Any]:
    def rule(r: RuleResult) -> dict[str, Any]:
        return {
            "code": r.code, "kind": r.kind, "speedup": _num(r.speedup), "ci": [_num(r.ci[0]), _num(r.ci[1])],
            "verdict": r.verdict, "equivalent": r.equivalent, "equivalence": r.equivalence, "detail": r.detail,
            "phase": r.phase, "findings": r.findings, "fixes": r.fixes,
            "epoch_speedup": _num(r.epoch_speedup), "epoch_ci": [_num(r.epoch_ci[0]), _num(r.epoch_ci[1])],
            "gpu_target": r.gpu_target,
            "measured_on": "cpu" if report.options.device == "cpu" else report.options.device,
            "ratios": [round(x, 4) for x in r.ratios],
        }

    o = report.overall
    return {
        "device": report.environment["device"],
        "python": report.environment["python"],
        "environment": report.environment,
        "options": report.options.__dict__ | {"rules": list(report.options.rules)},
        "findings": report.findings,
        "rules": [rule(r) for r in report.rules],
        "overall": None if o is None else {
            "speedup": _num(o.speedup), "ci": [_num(o.ci[0]), _num(o.ci[1])], "equivalent": o.equivalent,
            "equivalence": o.equivalence, "verdict": o.verdict, "fixes": o.fixes, "detail": o.detail,
        },
        "control": None if report.control is None else rule(report.control),
        "baseline_phases_s": {k: round(v, 5) for k, v in report.baseline_phases.items()},
        "baseline_reproducible": None if report.reproducible is None else report.reproducible.equivalent,
        "errors": report.errors,
        "warnings": report.warnings,
    }


def _num(x: float) -> float | None:
    return None if x != x else round(x, 4)


__all__ = ["CHANGES_RESULTS", "CheckOptions", "CheckReport", "RuleResult", "run_check", "to_json"]

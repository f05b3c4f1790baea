"""What does observing expressions cost? (issue 11, part 2: ``runtime_check/profile/observe.py``)

Two measurements, each interleaved (plain, observed, plain, ... ; who goes first alternates by
round) and repeated; reported are the median and the spread (interquartile range, min-max):

1. **Per evaluation.** A loop doing ``y = <expr>`` where ``<expr>`` is ``x`` (plain) or a wrapped
   ``x`` through several recorders: the observer's own (reached through a module global, as in
   imported modules, and through ``builtins``, as in the main script), a dict-keyed variant, a
   do-nothing Python function (the floor of any design that calls a Python function per
   evaluation), and a per-site C counter ``(next(counter), x)[1]`` (an alternative that would need
   a second code path to describe values). Cost per evaluation = (variant - plain) / evaluations.
2. **A loop shaped like RL code.** NumPy/torch small ops per step (a 17-float observation, a
   6-float action, a 64x17 linear layer, per-joint clipping, a norm) with ``--sites`` instrumented
   expressions (call arguments and operands in the loop body) hit every step. The same module
   source is imported twice, once with sites and once without, so the two run side by side in one
   process. Reported: the whole-loop overhead and the cost per observed evaluation.

    python bench/observe_overhead.py [--rounds 11] [--steps 20000] [--sites 20] [--json PATH]
    flock /tmp/pyfast-timing.lock python bench/observe_overhead.py      # numbers you report

Needs NumPy and torch (the ``harness`` extra); torch runs on the CPU with one thread.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import itertools
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from runtime_check.profile import observe  # noqa: E402

WORKLOAD = '''
import numpy as np
import torch


def run(steps):
    rng = np.random.default_rng(0)
    obs = rng.standard_normal(17).astype(np.float32)
    action = rng.uniform(-1.0, 1.0, 6)
    target = np.array([0.5, -0.2, 0.3])
    torch.manual_seed(0)
    w = torch.randn(64, 17)
    b = torch.zeros(64)
    total = 0.0
    for step in range(steps):
        a0 = action[step % 6]
        c = np.clip(a0, -1.0, 1.0)
        s = np.cos(c) + np.sin(a0)
        d = np.linalg.norm(target - obs[:3])
        x = torch.as_tensor(obs)
        h = torch.tanh(w @ x + b)
        v = h.sum()
        r = float(v) - 0.01 * d
        obs[3] = np.float32(s * 0.5)
        total += max(min(r, 1.0), -1.0) + abs(c)
    return total
'''

MICRO = """
def loop(n, x):
    for _ in range(n):
        y = {expr}
    return y
"""


def _iqr(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4) if len(values) >= 2 else [values[0]] * 3
    return q[0], q[2]


def _summary(values: list[float]) -> dict[str, float]:
    low, high = _iqr(values)
    return {"median": statistics.median(values), "q1": low, "q3": high, "min": min(values), "max": max(values)}


def _interleave(fns: dict[str, Any], rounds: int) -> dict[str, list[float]]:
    """Time each function once per round, order rotated by round; seconds per call."""
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        for name in order:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def micro(rounds: int, n: int) -> dict[str, Any]:
    """Per-evaluation cost of each recorder design on ``y = x``."""
    dummy = {"id": 0, "path": str(Path(tempfile.gettempdir()) / "observe_micro_none.py"), "line": 1, "col": 0,
             "end_line": 1, "end_col": 1}
    observer = observe.start({"sites": [dummy], "max_records": 5})
    try:
        own = observer._recorder
        own_builtin_globals: dict[str, Any] = {}
        counts: dict[int, int] = {7: 0}
        records: dict[int, list[Any]] = {7: []}

        def dict_keyed(site: int, value: Any, _counts: dict[int, int] = counts, _limit: int = 5) -> Any:
            n = _counts[site]
            _counts[site] = n + 1
            if n < _limit:
                records[site].append(type(value))
            return value

        def identity(site: int, value: Any) -> Any:
            return value

        counter = itertools.count()
        for _ in range(5):
            own(0, 1.5)  # slot 0 past max_records: the steady state that a hot site is in
        variants = {
            "plain": ("x", {}),
            "observer (module global)": (f"{observe.OBSERVE_NAME}(0, x)", {observe.OBSERVE_NAME: own}),
            "observer (builtins)": (f"{observe.OBSERVE_NAME}(0, x)", own_builtin_globals),
            "dict-keyed recorder": ("_rec(7, x)", {"_rec": dict_keyed}),
            "do-nothing Python function": ("_rec(0, x)", {"_rec": identity}),
            "C counter (next(c), x)[1]": ("(_next(), x)[1]", {"_next": counter.__next__}),
        }
        fns = {}
        for name, (expr, namespace) in variants.items():
            exec(compile(MICRO.format(expr=expr), f"<micro {name}>", "exec"), namespace)
            loop = namespace["loop"]
            fns[name] = lambda loop=loop: loop(n, 1.5)
        times = _interleave(fns, rounds)
    finally:
        observer.finish()
    plain = times["plain"]
    out: dict[str, Any] = {"evaluations_per_run": n, "variants": {}}
    for name, values in times.items():
        per_eval = [(v - p) / n * 1e9 for v, p in zip(values, plain, strict=True)]
        out["variants"][name] = {"seconds": _summary(values), "added_ns_per_evaluation": _summary(per_eval)}
    return out


def _sites(path: Path, count: int) -> list[dict[str, Any]]:
    """Call arguments and binary operands inside the workload's loop, in source order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    loop = next(node for node in ast.walk(tree) if isinstance(node, ast.For))
    nodes: list[ast.expr] = []
    for node in (n for stmt in loop.body for n in ast.walk(stmt)):
        if isinstance(node, ast.Call):
            nodes.extend(a for a in node.args if not isinstance(a, ast.Starred))
        elif isinstance(node, ast.BinOp):
            nodes.extend((node.left, node.right))
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    unique = list({(n.lineno, n.col_offset, n.end_lineno, n.end_col_offset): n for n in nodes}.values())
    if len(unique) < count:
        raise SystemExit(f"{path}: the workload has only {len(unique)} candidate sites, asked for {count}")
    return [
        {"id": i, "path": str(path), "line": n.lineno, "col": n.col_offset, "end_line": n.end_lineno,
         "end_col": n.end_col_offset}
        for i, n in enumerate(unique[:count])
    ]


def workload(rounds: int, steps: int, n_sites: int) -> dict[str, Any]:
    import torch  # the workload's import: the timed runs should not pay it

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="pyfast-observe-bench-") as tmp:
        plain_path = Path(tmp) / "observe_bench_plain.py"
        obs_path = Path(tmp) / "observe_bench_observed.py"
        for path in (plain_path, obs_path):
            path.write_text(WORKLOAD, encoding="utf-8")
        sites = _sites(obs_path, n_sites)
        sys.path.insert(0, tmp)
        observer = observe.start({"sites": sites, "max_records": 5})
        try:
            plain = importlib.import_module(plain_path.stem)
            observed = importlib.import_module(obs_path.stem)
            warmup = 50
            assert plain.run(warmup) == observed.run(warmup), "the instrumented workload computes something else"
            times = _interleave({"plain": lambda: plain.run(steps), "observed": lambda: observed.run(steps)}, rounds)
        finally:
            result = observer.finish()
            sys.path.remove(tmp)
            for name in (plain_path.stem, obs_path.stem):
                sys.modules.pop(name, None)
    evals_per_run = round(sum(site["count"] for site in result["sites"].values()) * steps / (warmup + rounds * steps))
    hit_every_step = sum(1 for site in result["sites"].values() if site["count"] >= steps)
    overhead = [o / p - 1.0 for o, p in zip(times["observed"], times["plain"], strict=True)]
    per_eval = [
        (o - p) / max(evals_per_run, 1) * 1e9 for o, p in zip(times["observed"], times["plain"], strict=True)
    ]
    return {
        "steps": steps,
        "sites": n_sites,
        "sites_hit_every_step": hit_every_step,
        "observed_evaluations_per_run": evals_per_run,
        "plain_seconds": _summary(times["plain"]),
        "observed_seconds": _summary(times["observed"]),
        "overhead_fraction": _summary(overhead),
        "added_ns_per_evaluation": _summary(per_eval),
        "files": result["files"],
        "errors": result["errors"],
        "kinds_sample": {k: v["kinds"] for k, v in list(result["sites"].items())[:6]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--micro-n", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    report = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rounds": args.rounds,
        "micro": micro(args.rounds, args.micro_n),
        "workload": workload(args.rounds, args.steps, args.sites),
    }
    print(f"Python {report['python']}, {args.rounds} interleaved rounds; median [q1, q3] (min-max)")
    print(f"\nPer evaluation of y = <expr>, {args.micro_n:,} evaluations per run, added ns per evaluation:")
    for name, row in report["micro"]["variants"].items():
        s = row["added_ns_per_evaluation"]
        if name != "plain":
            print(f"  {name:30s} {s['median']:7.1f} [{s['q1']:.1f}, {s['q3']:.1f}] ({s['min']:.1f}-{s['max']:.1f})")
    w = report["workload"]
    o, e = w["overhead_fraction"], w["added_ns_per_evaluation"]
    print(
        f"\nRL-shaped loop: {w['steps']} steps, {w['sites']} sites ({w['sites_hit_every_step']} hit every step, "
        f"{w['observed_evaluations_per_run']:,} observed evaluations per run)"
    )
    print(
        f"  plain {w['plain_seconds']['median']:.4f} s, observed {w['observed_seconds']['median']:.4f} s; overhead "
        f"{o['median']:+.1%} [{o['q1']:+.1%}, {o['q3']:+.1%}] ({o['min']:+.1%} to {o['max']:+.1%})"
    )
    print(f"  added per observed evaluation: {e['median']:.0f} ns [{e['q1']:.0f}, {e['q3']:.0f}]")
    if w["errors"]:
        print("  observer errors:", *w["errors"], sep="\n    ")
    if args.json:
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

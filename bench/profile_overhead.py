"""What does ``pyfast-check profile`` cost, and does it put the time on the right lines? (issue 11)

Three parts, each run in fresh processes:

* ``overhead``: the built-in workload (``runtime_check.workloads.kuka_ppo``, 2 epochs) and a PyBullet
  locomotion env stepping loop (``pybullet_envs``' Ant, 3,000 random-action steps, the driver written
  into a temporary folder like a user's script) run plain and under the profiler with each sampler
  (``signal``, ``thread``), interleaved (the order shuffled every round), ``--rounds`` rounds. Per
  round the ratio profiled / plain of (a) the program's own loop time, which it prints, and (b) the
  whole process (start-up, the profiler's parent and child included); reported: median, IQR, min-max.
* ``inprocess``: the sampler switched on and off around alternate blocks of the same work (a
  1-epoch PPO run; 500 Ant steps) inside one process, the order shuffled per pair: the sampler's
  own cost, free of process start-up and of most of the machine's drift.
* ``attribution``: a planted program whose loop has a Python busy line, a NumPy call, the same NumPy
  work as an operator (``m @ m``), a sleeping line and a call of a small Python function, each timed
  by ``perf_counter`` inside the same profiled run (the truth); the profile's shares of the loop
  are compared with the timed shares, in points.
* ``references``: the Ant loop with the env's own files counted as the user's (``--include``): the
  profiler's shares next to cProfile's per-function totals and py-spy's (when ptrace is allowed).

    flock /tmp/pyfast-timing.lock python bench/profile_overhead.py --part overhead --workload kuka
    flock /tmp/pyfast-timing.lock python bench/profile_overhead.py --part overhead --workload pybullet_envs
    flock /tmp/pyfast-timing.lock python bench/profile_overhead.py --part inprocess --workload kuka
    flock /tmp/pyfast-timing.lock python bench/profile_overhead.py --part inprocess --workload pybullet_envs
    flock /tmp/pyfast-timing.lock python bench/profile_overhead.py --part attribution
    flock /tmp/pyfast-timing.lock python bench/profile_overhead.py --part references

``pybullet_envs`` (in the pybullet wheel) needs ``gym`` (0.26.2 works with the two shims the driver
installs: the old registry attribute and ``pkg_resources.parse_version``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLERS = ("signal", "thread")

ANT_DRIVER = '''
import argparse, json, sys, time, types

import numpy as np


def load_env_class():
    import gym
    import gym.envs.registration as registration

    class Registry(dict):  # pybullet_envs reads gym<0.22's registry.env_specs
        @property
        def env_specs(self):
            return self

    registration.registry = Registry(registration.registry)
    if "pkg_resources" not in sys.modules:  # pybullet_envs compares gym's version with it
        shim = types.ModuleType("pkg_resources")
        shim.parse_version = lambda s: tuple(int(p) for p in s.split(".")[:3] if p.isdigit())
        sys.modules["pkg_resources"] = shim
    from pybullet_envs.gym_locomotion_envs import AntBulletEnv
    return AntBulletEnv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    args = ap.parse_args()
    env = load_env_class()()
    env.seed(0)
    env.reset()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(args.steps):
        action = rng.uniform(-1.0, 1.0, size=8)
        obs, reward, done, info = env.step(action)
        if done:
            env.reset()
    print(json.dumps({"seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
'''

PLANTED = '''
import json, sys, time

import numpy as np

T = {"busy": 0.0, "numpy_call": 0.0, "numpy_operator": 0.0, "sleep": 0.0, "call": 0.0}
m = np.random.default_rng(0).random((160, 160))


def helper(k):
    s = 0
    for i in range(k):
        s += i * 3
    return s


pc = time.perf_counter
start = pc()
for _ in range(int(sys.argv[1])):
    t0 = pc()
    for i in range(40_000): s = i * 2  # LINE busy
    t1 = pc()
    r = np.matmul(m, m)  # LINE numpy_call
    t2 = pc()
    r = m @ m  # LINE numpy_operator
    t3 = pc()
    time.sleep(0.002)  # LINE sleep
    t4 = pc()
    helper(20_000)  # LINE call
    t5 = pc()
    T["busy"] += t1 - t0
    T["numpy_call"] += t2 - t1
    T["numpy_operator"] += t3 - t2
    T["sleep"] += t4 - t3
    T["call"] += t5 - t4
T["loop"] = pc() - start
print(json.dumps(T))
'''


INPROCESS = '''
import json, os, random, sys, time

from runtime_check.profile.sampler import Sampler, UserCode

sys.path.insert(0, os.getcwd())
workload, mode, pairs, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) / 1000
if workload == "kuka":
    from runtime_check.workloads.kuka_ppo import Config, run

    def block():
        run(Config(epochs=1, steps=256, seed=0, threads=1, trace=False))
else:
    import numpy as np
    from ant_loop import load_env_class

    env = load_env_class()()
    env.seed(0)
    env.reset()
    rng = np.random.default_rng(0)

    def block():
        for _ in range(500):
            obs, reward, done, info = env.step(rng.uniform(-1.0, 1.0, size=8))
            if done:
                env.reset()

block()  # warm-up
order_rng = random.Random(1)
ratios = []
for _ in range(pairs):
    times = {}
    for on in order_rng.sample([False, True], 2):
        sampler = Sampler(UserCode([os.getcwd()]), interval=interval, mode=mode, keep_stacks=False) if on else None
        t = time.perf_counter()
        if sampler:
            sampler.start()
        block()
        if sampler:
            sampler.stop()
        times[on] = time.perf_counter() - t
    ratios.append(times[True] / times[False])
print(json.dumps({"ratios": ratios}))
'''


def summary(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {"median": statistics.median(values), "q1": q[0], "q3": q[2], "min": min(values), "max": max(values),
            "n": len(values)}


def last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return dict(json.loads(line))
    raise RuntimeError(f"no JSON line in the program's output:\n{text[-2000:]}")


def env() -> dict[str, str]:
    e = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return e


def profile_cmd(sampler: str, out: Path, extra: list[str] | None = None) -> list[str]:
    return [sys.executable, "-m", "runtime_check.cli", "profile", "--no-lint", "--no-report", "--sampler", sampler,
            "--json", str(out), *(extra or [])]


def run(cmd: list[str], cwd: Path) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env(), timeout=600)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, proc.stdout


def workloads(tmp: Path, quick: bool) -> dict[str, tuple[Path, list[str]]]:
    (tmp / "ant_loop.py").write_text(textwrap.dedent(ANT_DRIVER), encoding="utf-8")
    return {
        "kuka_ppo (built-in workload, 2 epochs)": (ROOT, ["-m", "runtime_check.workloads.kuka_ppo", "--epochs",
                                                          "1" if quick else "2"]),
        "pybullet_envs Ant loop (3,000 steps)": (tmp, ["ant_loop.py", "--steps", "500" if quick else "3000"]),
    }


def part_overhead(rounds: int, quick: bool, tmp: Path, only: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    rng = random.Random(0)
    for name, (cwd, target) in workloads(tmp, quick).items():
        if only and not name.lower().startswith(only):
            continue
        own: dict[str, list[float]] = {v: [] for v in ("plain", *SAMPLERS)}
        whole: dict[str, list[float]] = {v: [] for v in ("plain", *SAMPLERS)}
        samples: dict[str, list[int]] = {s: [] for s in SAMPLERS}
        self_share: dict[str, list[float]] = {s: [] for s in SAMPLERS}
        for r in range(rounds):
            order = ["plain", *SAMPLERS]
            rng.shuffle(order)
            for variant in order:
                js = tmp / "p.json"
                cmd = [sys.executable, *target] if variant == "plain" else [*profile_cmd(variant, js), *target]
                wall, stdout = run(cmd, cwd)
                own[variant].append(float(last_json(stdout)["seconds"]))
                whole[variant].append(wall)
                if variant != "plain":
                    rep = json.loads(js.read_text())
                    samples[variant].append(rep["samples"])
                    self_share[variant].append(rep["sampler_overhead_share"])
            print(f"  {name} round {r + 1}/{rounds}: " + ", ".join(f"{v} {own[v][-1]:.2f}s" for v in own),
                  file=sys.stderr, flush=True)
        res: dict[str, Any] = {"plain_seconds": summary(own["plain"]), "plain_process_seconds": summary(whole["plain"])}
        for s in SAMPLERS:
            res[s] = {
                "own_ratio": summary([p / q for p, q in zip(own[s], own["plain"], strict=True)]),
                "process_ratio": summary([p / q for p, q in zip(whole[s], whole["plain"], strict=True)]),
                "samples_per_second": statistics.median(n / t for n, t in zip(samples[s], whole[s], strict=True)),
                "sampler_self_share": statistics.median(self_share[s]),
            }
        out[name] = res
    return out


def part_inprocess(pairs: int, tmp: Path, only: str = "", samplers: tuple[str, ...] = SAMPLERS,
                   interval_ms: float = 1.0) -> dict[str, Any]:
    """The sampler switched on and off around alternate blocks of work in ONE process: each pair of
    neighbouring blocks shares the machine's state, so the ratio shows the sampler's own cost
    without the start-up of a second process (measured apart in ``overhead``)."""
    (tmp / "ant_loop.py").write_text(textwrap.dedent(ANT_DRIVER), encoding="utf-8")
    (tmp / "inprocess.py").write_text(textwrap.dedent(INPROCESS), encoding="utf-8")
    out: dict[str, Any] = {}
    for workload in ("kuka", "pybullet_envs"):
        if only and workload != only:
            continue
        for mode in samplers:
            cwd = ROOT if workload == "kuka" else tmp
            _, stdout = run([sys.executable, str(tmp / "inprocess.py"), workload, mode, str(pairs), f"{interval_ms:g}"],
                            cwd)
            ratios = last_json(stdout)["ratios"]
            key = f"{workload}/{mode}" + ("" if interval_ms == 1.0 else f"/{interval_ms:g}ms")
            out[key] = summary(ratios)
            print(f"  in-process {key}: median {statistics.median(ratios):.3f}", file=sys.stderr)
    return out


def part_attribution(reps: int, tmp: Path, samplers: tuple[str, ...] = SAMPLERS,
                     interval_ms: float | None = None) -> dict[str, Any]:
    prog = tmp / "planted.py"
    prog.write_text(textwrap.dedent(PLANTED), encoding="utf-8")
    lines = {key: n for n, text in enumerate(prog.read_text().splitlines(), 1)
             for key in ("busy", "numpy_call", "numpy_operator", "sleep", "call") if f"# LINE {key}" in text}
    loop_first = next(n for n, text in enumerate(prog.read_text().splitlines(), 1) if text.startswith("for _ in"))
    helper_lines = range(next(n for n, t in enumerate(prog.read_text().splitlines(), 1) if "def helper" in t),
                         loop_first)
    out: dict[str, Any] = {}
    extra = [] if interval_ms is None else ["--interval-ms", f"{interval_ms:g}"]
    for sampler in samplers:
        errors: dict[str, list[float]] = {k: [] for k in lines}
        detail = []
        for _ in range(reps):
            js = tmp / "a.json"
            _, stdout = run([*profile_cmd(sampler, js, extra), "planted.py", "150"], tmp)
            truth = last_json(stdout)
            rep = json.loads(js.read_text())
            by_line = {ln["line"]: ln["seconds"] for ln in rep["lines"] if ln["path"] == "planted.py"}
            loop_lines = [n for n in by_line if n >= loop_first]
            loop_total = sum(by_line[n] for n in loop_lines) + sum(by_line.get(n, 0.0) for n in helper_lines)
            got = {k: by_line.get(n, 0.0) / loop_total for k, n in lines.items()}
            # a called function's time is in its own lines: count them for the call
            got["call"] = sum(by_line.get(n, 0.0) for n in helper_lines) / loop_total + got["call"]
            want = {k: truth[k] / truth["loop"] for k in lines}
            for k in lines:
                errors[k].append(100 * (got[k] - want[k]))
            detail.append({"profile": got, "timed": want})
        key = sampler if interval_ms is None else f"{sampler}/{interval_ms:g}ms"
        out[key] = {"error_points": {k: summary(v) for k, v in errors.items()},
                        "max_abs_error_points": max(abs(e) for v in errors.values() for e in v), "runs": detail}
    return out


def pyspy_lines(raw: Path, roots: tuple[str, ...]) -> dict[str, Any]:
    """py-spy's raw output (``frame;frame;... count``, frames ``function (file:line)``): the share of
    samples whose innermost frame under ``roots`` is each line, as this profiler charges them."""
    counts: dict[str, int] = {}
    total = 0
    for text in raw.read_text().splitlines():
        stack, _, n = text.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        where = "(no frame of the program)"
        for frame in reversed(stack.split(";")):
            inner = frame[frame.rfind("(") + 1:-1] if frame.endswith(")") else ""
            path, _, line = inner.rpartition(":")
            if any(r in path for r in roots):  # py-spy shortens paths: match by a fragment
                where = f"{Path(path).name}:{line}"
                break
        counts[where] = counts.get(where, 0) + int(n)
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:12]
    return {"samples": total, "top_lines": {k: v / total for k, v in top}}


def part_references(tmp: Path) -> dict[str, Any]:
    """The same Ant loop seen by this profiler (env files included), cProfile and py-spy."""
    import importlib.util

    spec = importlib.util.find_spec("pybullet_envs")  # its folder only: importing it needs the driver's shims
    if spec is None or spec.origin is None:
        raise RuntimeError("pybullet_envs is not installed (it ships in the pybullet wheel)")
    envs_dir = Path(spec.origin).parent
    (tmp / "ant_loop.py").write_text(textwrap.dedent(ANT_DRIVER), encoding="utf-8")
    out: dict[str, Any] = {}
    js, ss = tmp / "ref.json", tmp / "ref.speedscope.json"
    wall, _ = run([*profile_cmd("signal", js, ["--include", str(envs_dir), "--speedscope", str(ss)]),
                   "ant_loop.py"], tmp)
    rep = json.loads(js.read_text())
    loop_total = sum(ln["seconds"] for ln in rep["lines"])  # lines of the run (the driver and the env)
    out["pyfast_top_lines"] = [{"where": f"{Path(ln['path']).name}:{ln['line']}", "share": ln["share"],
                                "native_share": ln["native_share"], "code": ln["code"]} for ln in rep["lines"][:12]]
    # inclusive time per function, from the stacks
    speed = json.loads(ss.read_text())
    frames = speed["shared"]["frames"]
    inclusive: dict[str, float] = {}
    for sample, weight in zip(speed["profiles"][0]["samples"], speed["profiles"][0]["weights"], strict=True):
        for fname in {frames[i]["name"].split(" (")[0] + " " + Path(frames[i]["file"]).name for i in sample}:
            inclusive[fname] = inclusive.get(fname, 0.0) + weight
    top = sorted(inclusive.items(), key=lambda kv: -kv[1])[:12]
    out["pyfast_inclusive_share"] = {k: v / loop_total for k, v in top}
    out["pyfast_wall"] = wall
    # cProfile
    prof = tmp / "ant.prof"
    wall_c, _ = run([sys.executable, "-m", "cProfile", "-o", str(prof), "ant_loop.py"], tmp)
    stats = pstats.Stats(str(prof))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_cc, _nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(path).name}:{line}({func})", "tottime_share": tt / total,
                     "cumtime_share": ct / total})
    rows.sort(key=lambda r: -r["tottime_share"])
    out["cprofile_top_tottime"] = rows[:12]
    wanted = ("state_fields_of_pose_of", "apply_action", "calc_state", "stepSimulation", "clip", "global_step")
    out["cprofile_selected"] = [r for r in sorted(rows, key=lambda r: -r["cumtime_share"])
                                if any(w in r["function"] for w in wanted)][:12]
    out["cprofile_wall"] = wall_c
    # py-spy (needs ptrace)
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        out["py_spy"] = "py-spy is not installed"
    else:
        raw = tmp / "spy.txt"
        proc = subprocess.run([pyspy, "record", "--nonblocking", "-r", "200", "-f", "raw", "-o", str(raw),
                               "--", sys.executable, "ant_loop.py"], cwd=tmp, capture_output=True, text=True,
                              env=env(), timeout=600)
        if proc.returncode != 0 or not raw.exists():
            out["py_spy"] = f"failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-600:]}"
        else:
            out["py_spy"] = pyspy_lines(raw, ("ant_loop.py", "pybullet_envs/"))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("overhead", "inprocess", "attribution", "references", "all"), default="all")
    ap.add_argument("--pairs", type=int, default=12, help="on/off block pairs per sampler (inprocess)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workload", choices=("kuka", "pybullet_envs"), help="overhead of one workload only")
    ap.add_argument("--sampler", choices=SAMPLERS, action="append",
                    help="inprocess: only this sampler (repeatable; default both)")
    ap.add_argument("--interval-ms", type=float, default=None,
                    help="inprocess: the sampling interval (default 1); attribution: the profiler's (default its own)")
    ap.add_argument("--reps", type=int, default=3, help="attribution runs per sampler")
    ap.add_argument("--quick", action="store_true", help="short runs while developing (numbers not for the record)")
    ap.add_argument("--json", type=Path, help="merge the results into this JSON file")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pyfast-profile-bench-"))
    results: dict[str, Any] = {}
    try:
        if args.part in ("overhead", "all"):
            results["overhead"] = part_overhead(2 if args.quick else args.rounds, args.quick, tmp,
                                               args.workload or "")
        if args.part in ("inprocess", "all"):
            results["inprocess"] = part_inprocess(2 if args.quick else args.pairs, tmp, args.workload or "",
                                                  tuple(args.sampler or SAMPLERS), args.interval_ms or 1.0)
        if args.part in ("attribution", "all"):
            results["attribution"] = part_attribution(1 if args.quick else args.reps, tmp,
                                                      tuple(args.sampler or SAMPLERS),
                                                      args.interval_ms)
        if args.part in ("references", "all"):
            results["references"] = part_references(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    meta = {"date": datetime.date.today().isoformat(), "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "rounds": args.rounds, "quick": args.quick}
    print(json.dumps({"meta": meta, **results}, indent=1))
    target = args.json
    if target is not None:
        old = json.loads(target.read_text()) if target.exists() else {}
        for part, got in results.items():  # merge per key: runs of one part with other options add up
            if isinstance(got, dict) and isinstance(old.get(part), dict):
                old[part].update(got)
            else:
                old[part] = got
        old.setdefault("meta", {})[args.part] = meta
        tmp_file = target.with_suffix(".tmp")
        tmp_file.write_text(json.dumps(old, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp_file, target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

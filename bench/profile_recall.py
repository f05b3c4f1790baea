"""The recall gain of a profile: lint judged real code with and without `.pyfast/profile.json`.

For each run below (a repository of a judged set, and one of its own example programs with
command-line arguments that keep it short and headless), this script

1. copies the judged tree (``$PYFAST_JUDGED/<owner>+<name>-<commit[:12]>``, Python files only) to a
   work folder, adds the non-Python files the program needs from a git clone of the repository at
   the judged commit (``--git OWNER/NAME=DIR``), and applies the run's documented constant edits;
2. profiles the program from the copy's root with ``pyfast-check profile`` (``--runner cli``), or
   by driving the profiler's pieces in one process (``--runner pieces``: observer + sampler + join,
   for when the CLI cannot finish a run; see the README), which writes ``.pyfast/profile.json``;
3. lints the copy with ``flake8 --isolated --select PYF`` twice: with the profile, and with it moved
   aside (cold: a fresh flake8 process each time);
4. diffs the two finding lists (appeared / disappeared / unchanged), joins them with the judged
   set's ``findings.tsv`` and this study's ``bench/judged/profile/labels.tsv`` (every finding that
   appears or disappears, judged in context for that run) and the set's ``recall.tsv``;
5. prints precision, useful rate and recall of that repository with and without the profile.

``--overhead N`` also times the program plain and profiled, interleaved, N times each, and prints
the median and spread: hold the shared timing lock for it
(``flock /tmp/pyfast-timing.lock python bench/profile_recall.py --overhead 3 ...``).

Exit status: 0; 1 when a finding that appears or disappears has no label (judge it first); 2 when
a tree, a clone or a tool is missing or a run fails to produce a profile.

    python bench/profile_recall.py [--runs NAME ...] [--runner auto|cli|pieces] [--git OWNER/NAME=DIR]
                                   [--work DIR] [--overhead N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import precision  # bench/precision.py: the judged sets' loader and join

ROOT = precision.ROOT
LABELS_FILE = precision.JUDGED / "profile" / "labels.tsv"
LABEL_COLUMNS = ("run", "repo", "path", "line", "rule", "change", "label", "reason")
PROFILE = Path(".pyfast") / "profile.json"


@dataclass(frozen=True)
class Edit:
    """A documented edit of a constant in the copy (the program has no option for it)."""

    path: str
    old: str
    new: str
    why: str


@dataclass(frozen=True)
class Run:
    name: str
    judged_set: str
    repo: str  # owner/name, as in the set's repos.tsv
    module: str  # run as ``-m module`` from the copy's root
    args: tuple[str, ...]
    assets: tuple[str, ...] = ()  # non-Python files taken from the clone at the judged commit
    edits: tuple[Edit, ...] = ()
    what: str = ""
    #: distributions the program needs at a version other runs' environment may not have
    requires: tuple[tuple[str, str], ...] = ()


_DRONE_ASSETS = tuple(f"gym_pybullet_drones/assets/{n}" for n in ("cf2x.urdf", "cf2p.urdf", "racer.urdf", "cf2.dae"))
_HEADLESS = ("--gui", "False", "--plot", "False")
_KHRYLX_ARGS = ("--env-name", "Pendulum-v1", "--num-threads", "1", "--max-iter-num", "3",
                "--min-batch-size", "2048", "--eval-batch-size", "1024")
# the code calls env.seed() and unpacks 4-tuple steps (gym <= 0.25), whose env checker needs NumPy 1
_OLD_GYM = (("gym", "0.25.2"), ("numpy", "1.26.4"))

RUNS: tuple[Run, ...] = (
    Run("drones-pid-gdd", "fresh", "utiasDSL/gym-pybullet-drones", "gym_pybullet_drones.examples.pid",
        (*_HEADLESS, "--physics", "pyb_gnd_drag_dw", "--duration_sec", "12", "--output_folder", "{out}"),
        _DRONE_ASSETS,
        what="3 drones, DSL PID, PyBullet physics + ground effect, drag and downwash, 12 s at 240 Hz"),
    Run("drones-pid-dyn", "fresh", "utiasDSL/gym-pybullet-drones", "gym_pybullet_drones.examples.pid",
        (*_HEADLESS, "--physics", "dyn", "--duration_sec", "12", "--output_folder", "{out}"),
        _DRONE_ASSETS,
        what="3 drones, DSL PID, the explicit Python dynamics model (physics dyn), 12 s at 240 Hz"),
    Run("drones-velocity", "fresh", "utiasDSL/gym-pybullet-drones", "gym_pybullet_drones.examples.pid_velocity",
        (*_HEADLESS, "--duration_sec", "12", "--output_folder", "{out}"),
        _DRONE_ASSETS,
        what="4 drones, velocity-input env (VelocityAviary over DSL PID), 12 s"),
    Run("drones-mrac", "fresh", "utiasDSL/gym-pybullet-drones", "gym_pybullet_drones.examples.mrac", (),
        _DRONE_ASSETS,
        edits=(
            Edit("gym_pybullet_drones/examples/mrac.py", "DEFAULT_GUI = True", "DEFAULT_GUI = False",
                 "the script has no command line; no display here"),
            Edit("gym_pybullet_drones/examples/mrac.py", "DEFAULT_PLOT = True", "DEFAULT_PLOT = False",
                 "no display here"),
            Edit("gym_pybullet_drones/examples/mrac.py", "DEFAULT_DURATION_SEC = 15", "DEFAULT_DURATION_SEC = 12",
                 "same length as the other drone runs"),
        ),
        what="1 drone, MRAC adaptive controller, 12 s (constants edited: no command line)"),
    Run("khrylx-ppo", "fresh", "Khrylx/PyTorch-RL", "examples.ppo_gym", _KHRYLX_ARGS,
        what="PPO on Pendulum-v1, 3 iterations of 2,048 steps, one sampling process",
        requires=_OLD_GYM),
    Run("khrylx-trpo", "fresh", "Khrylx/PyTorch-RL", "examples.trpo_gym", _KHRYLX_ARGS,
        what="TRPO on Pendulum-v1, 3 iterations of 2,048 steps, one sampling process",
        requires=_OLD_GYM),
)


# --- set-up ---------------------------------------------------------------------------------------------------------
def fail(text: str) -> SystemExit:
    print(f"profile_recall: error: {text}", file=sys.stderr)
    return SystemExit(2)


def repo_of(run: Run) -> precision.Repo:
    for r in precision.load_repos(precision.JUDGED / run.judged_set):
        if r.name == run.repo:
            return r
    raise fail(f"{run.repo} is not in bench/judged/{run.judged_set}/repos.tsv")


def default_clone(repo: str) -> Path:
    return Path("/work/.mirror") / repo.replace("/", "+") / "repo"


def check_requires(run: Run) -> None:
    from importlib import metadata

    for dist, version in run.requires:
        try:
            have = metadata.version(dist)
        except metadata.PackageNotFoundError:
            have = None
        if have != version:
            raise fail(f"{run.name}: needs {dist}=={version} in {sys.executable}'s environment (found {have}); "
                       "see bench/judged/profile/README.md")


def set_up(run: Run, cache: Path, work: Path, clones: dict[str, Path]) -> Path:
    check_requires(run)
    repo = repo_of(run)
    tree = cache / repo.folder
    if not tree.is_dir():
        raise fail(f"{tree}: judged tree missing (python bench/precision.py --fetch-help)")
    problems = precision.check_cache([repo], cache)
    if problems:
        raise fail("; ".join(problems))
    copy = work / run.name
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(tree, copy)
    if run.assets:
        clone = clones.get(run.repo, default_clone(run.repo))
        for rel in run.assets:
            proc = subprocess.run(["git", "-C", str(clone), "show", f"{repo.commit}:{rel}"],
                                  capture_output=True, check=False)
            if proc.returncode != 0:
                raise fail(f"{clone}: cannot read {rel} at {repo.commit[:12]} (--git {run.repo}=DIR): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
            dest = copy / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(proc.stdout)
    for e in run.edits:
        path = copy / e.path
        text = path.read_text(encoding="utf-8")
        if text.count(e.old) != 1:
            raise fail(f"{path}: expected exactly one {e.old!r} to edit ({e.why})")
        path.write_text(text.replace(e.old, e.new), encoding="utf-8")
    return copy


def program_args(run: Run, work: Path) -> list[str]:
    out = str(work / f"{run.name}.out")
    return [a.replace("{out}", out) for a in run.args]


def env_for_copy(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["MPLBACKEND"] = "Agg"
    return env


# --- profiling --------------------------------------------------------------------------------------------------------
def profile_cmd(run: Run, work: Path, runner: str) -> list[str]:
    if runner == "cli":
        return [sys.executable, "-m", "runtime_check.cli", "profile", "--no-report", "--json",
                str(work / f"{run.name}.report.json"), "-m", run.module, *program_args(run, work)]
    return [sys.executable, str(Path(__file__).resolve()), "_pieces", run.module, *program_args(run, work)]


def plain_cmd(run: Run, work: Path) -> list[str]:
    return [sys.executable, "-m", run.module, *program_args(run, work)]


def timed(cmd: Sequence[str], cwd: Path, log: Path) -> tuple[int, float]:
    started = time.perf_counter()
    with log.open("ab") as fh:
        proc = subprocess.run(list(cmd), cwd=cwd, env=env_for_copy(cwd), stdout=fh, stderr=subprocess.STDOUT,
                              check=False)
    return proc.returncode, time.perf_counter() - started


def profile(run: Run, copy: Path, work: Path, runner: str) -> tuple[str, float]:
    """Profile the run; returns (runner used, wall seconds of the profiled command)."""
    order = ["cli", "pieces"] if runner == "auto" else [runner]
    log = work / f"{run.name}.log"
    for r in order:
        (copy / PROFILE).unlink(missing_ok=True)
        rc, wall = timed(profile_cmd(run, work, r), copy, log)
        if (copy / PROFILE).is_file() and rc == 0:
            return r, wall
        print(f"profile_recall: {run.name}: the {r} runner exited {rc} without a usable profile (see {log})",
              file=sys.stderr)
    raise fail(f"{run.name}: no profile written")


def pieces_main(argv: Sequence[str]) -> int:
    """``_pieces module args...``: run ``-m module`` in this process under the profiler's own pieces
    (observer, sampler, join), as the CLI's child does, and write ``.pyfast/profile.json``."""
    import runpy

    sys.path.insert(0, str(ROOT))
    from runtime_check.profile import join, observe
    from runtime_check.profile.sampler import Sampler, UserCode

    module, args = argv[0], list(argv[1:])
    root = Path.cwd()
    prepared = join.prepare(root)
    observer = observe.start(prepared.payload)
    sampler = Sampler(UserCode(roots=[str(root)], cwd=str(root)), interval=0.001)
    sys.argv = [module, *args]
    sys.path.insert(0, str(root))
    started = time.perf_counter()
    sampler.start()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        sampler.stop()
        wall = time.perf_counter() - started
    seen = observer.finish()

    @dataclass
    class Line:
        path: str
        line: int
        seconds: float
        native_seconds: float

    # a sample can land on an instruction with no line number (f_lineno None): not a line's time
    lines = [Line(p, n, acc[0], acc[1]) for (p, n), acc in sampler.lines.items() if isinstance(n, int)]
    dropped = sum(acc[0] for (_p, n), acc in sampler.lines.items() if not isinstance(n, int))
    join.write_profile(root, ["-m", module, *args], wall, lines, prepared.payload, seen)
    print(f"profile_recall: pieces: {wall:.2f} s, {sampler.samples} samples, {dropped:.3f} s on no line",
          file=sys.stderr)
    return 0


# --- linting and joining ----------------------------------------------------------------------------------------------
@dataclass
class Lint:
    reported: list[precision.Reported]
    stderr: str


def lint(repo: precision.Repo, copy: Path) -> Lint:
    cmd = [sys.executable, "-m", "flake8", "--isolated", "--select", "PYF", f"--format={precision.FLAKE8_FORMAT}",
           "."]
    proc = subprocess.run(cmd, cwd=copy, env=precision.pyfast_env(), capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise fail(f"flake8 failed on {copy} (exit {proc.returncode}):\n{proc.stderr}")
    out = []
    for row in proc.stdout.splitlines():
        path, line, col, code, message = row.split("\t", 4)
        out.append(precision.Reported(repo.name, path.removeprefix("./").replace(os.sep, "/"), int(line),
                                      int(col) - 1, code, message))
    return Lint(out, proc.stderr)


def lint_twice(repo: precision.Repo, copy: Path) -> tuple[Lint, Lint]:
    """(with the profile, without it): the profile is moved aside for the second lint and back."""
    with_profile = lint(repo, copy)
    aside = copy / ".pyfast" / "profile.json.aside"
    os.replace(copy / PROFILE, aside)
    try:
        without = lint(repo, copy)
    finally:
        os.replace(aside, copy / PROFILE)
    return with_profile, without


def load_labels(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    rows = precision.read_tsv(path)
    for r in rows:
        if r.get("label") not in precision.LABELS:
            raise fail(f"{path}: unknown label {r.get('label')!r} at {r.get('path')}:{r.get('line')}")
    return rows


def judgments_for(run: Run, repo: precision.Repo, labels: list[dict[str, str]]) -> list[precision.Judgment]:
    """The set's judgments of this repository, with this study's labels for the run replacing them
    where both judged the same key (the profile's run tells more about heat)."""
    mine = [precision.Judgment(r["repo"], repo.commit, r["path"], int(r["line"]), r["rule"], r["label"],
                               r["reason"]) for r in labels if r["run"] == run.name]
    own_keys = {j.key for j in mine}
    base = [j for j in precision.load_judgments(precision.JUDGED / run.judged_set)
            if j.repo == repo.name and j.key not in own_keys]
    return base + mine


def side(reported: list[precision.Reported], judgments: list[precision.Judgment],
         patterns: list[precision.Pattern]) -> dict[str, Any]:
    pairs, unjudged, _stale = precision.join(reported, list(judgments))
    rows = precision.table(pairs, reported, patterns)
    overall = rows["overall"]
    return {"findings": len(reported), "unjudged": len(unjudged), **overall, "rules": rows}


def key4(r: precision.Reported) -> tuple[str, int, int, str]:
    return (r.path, r.line, r.col, r.rule)


@dataclass
class Result:
    run: Run
    runner: str
    profiled_wall: float
    with_profile: dict[str, Any]
    without: dict[str, Any]
    appeared: list[precision.Reported]
    disappeared: list[precision.Reported]
    unchanged: int
    unlabelled: list[tuple[str, precision.Reported]]
    covered_gain: list[precision.Pattern]
    covered_loss: list[precision.Pattern]
    stale_notes: list[str]
    overhead: dict[str, Any] = field(default_factory=dict)


def compare(run: Run, repo: precision.Repo, copy: Path, labels: list[dict[str, str]],
            runner: str, wall: float) -> Result:
    w, wo = lint_twice(repo, copy)
    with_keys = {key4(r): r for r in w.reported}
    without_keys = {key4(r): r for r in wo.reported}
    appeared = sorted((r for k, r in with_keys.items() if k not in without_keys), key=key4)
    disappeared = sorted((r for k, r in without_keys.items() if k not in with_keys), key=key4)
    judgments = judgments_for(run, repo, labels)
    labelled = {(r["path"], int(r["line"]), r["rule"], r["change"]) for r in labels if r["run"] == run.name}
    unlabelled = [(change, r) for change, rs in (("appeared", appeared), ("disappeared", disappeared))
                  for r in rs if (r.path, r.line, r.rule, change) not in labelled]
    patterns = [p for p in precision.load_patterns(precision.JUDGED / run.judged_set) if p.repo == repo.name]
    flagged_w = {r.key for r in w.reported}
    flagged_wo = {r.key for r in wo.reported}
    counted = [p for p in patterns if p.family != "NEW"]
    gain = [p for p in counted if p.key in flagged_w and p.key not in flagged_wo]
    loss = [p for p in counted if p.key in flagged_wo and p.key not in flagged_w]
    return Result(run, runner, wall, side(w.reported, judgments, patterns), side(wo.reported, judgments, patterns),
                  appeared, disappeared, len(set(with_keys) & set(without_keys)), unlabelled, gain, loss,
                  [ln for ln in w.stderr.splitlines() if ln.strip()])


# --- overhead ---------------------------------------------------------------------------------------------------------
def overhead(run: Run, copy: Path, work: Path, runner: str, reps: int) -> dict[str, Any]:
    """Plain and profiled wall time of the whole command, interleaved (plain, profiled, plain, ...)."""
    log = work / f"{run.name}.overhead.log"
    plain: list[float] = []
    prof: list[float] = []
    for _ in range(reps):
        rc, t = timed(plain_cmd(run, work), copy, log)
        if rc != 0:
            raise fail(f"{run.name}: the plain run exited {rc} (see {log})")
        plain.append(t)
        rc, t = timed(profile_cmd(run, work, runner), copy, log)
        if rc != 0:
            raise fail(f"{run.name}: the profiled run exited {rc} (see {log})")
        prof.append(t)
    mp, mq = statistics.median(plain), statistics.median(prof)
    return {"reps": reps, "plain_s": plain, "profiled_s": prof, "plain_median_s": mp, "profiled_median_s": mq,
            "overhead": mq / mp - 1.0}


# --- report -----------------------------------------------------------------------------------------------------------
def fmt(v: Any) -> str:
    return precision.fmt(v)


def print_result(res: Result) -> None:
    run = res.run
    print(f"\n## {run.name}: {run.repo} -m {run.module} ({run.what})")
    print(f"profiled with the {res.runner} runner in {res.profiled_wall:.1f} s (whole command)")
    for e in run.edits:
        print(f"  edit in the copy: {e.path}: {e.old!r} -> {e.new!r} ({e.why})")
    print("| lint        | findings | TP | LOW | FP | precision | useful | recall |")
    print("|-------------|---------:|---:|----:|---:|----------:|-------:|-------:|")
    for name, s in (("no profile", res.without), ("profile", res.with_profile)):
        rec = f"{fmt(s['recall'])} ({s['recall_found']}/{s['recall_total']})"
        print(f"| {name:11} | {s['findings']:>8} | {s['TP']:>2} | {s['LOWVALUE']:>3} | {s['FP']:>2} "
              f"| {fmt(s['precision']):>9} | {fmt(s['useful']):>6} | {rec} |")
    print(f"appeared {len(res.appeared)}, disappeared {len(res.disappeared)}, unchanged {res.unchanged}")
    for name, s in (("no profile", res.without), ("profile", res.with_profile)):
        if s["unjudged"]:
            print(f"  warning: {s['unjudged']} finding(s) of the {name} lint have no judgment and are not counted")
    for label, rs in (("appeared", res.appeared), ("disappeared", res.disappeared)):
        for r in rs:
            print(f"  {label:11} {r.path}:{r.line}:{r.col + 1} {r.rule} {r.message}")
    for p in res.covered_gain:
        print(f"  recall + {p.path}:{p.line} {p.family} {p.function}")
    for p in res.covered_loss:
        print(f"  recall - {p.path}:{p.line} {p.family} {p.function}")
    for note in res.stale_notes:
        print(f"  flake8 said: {note}")
    if res.overhead:
        o = res.overhead
        print(f"overhead ({o['reps']} interleaved pairs): plain median {o['plain_median_s']:.2f} s "
              f"[{min(o['plain_s']):.2f}-{max(o['plain_s']):.2f}], profiled median {o['profiled_median_s']:.2f} s "
              f"[{min(o['profiled_s']):.2f}-{max(o['profiled_s']):.2f}]: {o['overhead']:+.1%}")
    if res.unlabelled:
        print(f"  {len(res.unlabelled)} finding(s) that appeared or disappeared have no label in {LABELS_FILE}:")
        for change, r in res.unlabelled:
            print(f"    {run.name}\t{r.repo}\t{r.path}\t{r.line}\t{r.rule}\t{change}\t?\t{r.message}")


def as_json(res: Result) -> dict[str, Any]:
    def rep(r: precision.Reported) -> dict[str, Any]:
        return {"path": r.path, "line": r.line, "col": r.col + 1, "rule": r.rule, "message": r.message}

    return {
        "run": res.run.name, "repo": res.run.repo, "module": res.run.module, "args": list(res.run.args),
        "runner": res.runner, "profiled_wall_s": round(res.profiled_wall, 3),
        "without": {k: v for k, v in res.without.items() if k != "rules"},
        "with": {k: v for k, v in res.with_profile.items() if k != "rules"},
        "appeared": [rep(r) for r in res.appeared], "disappeared": [rep(r) for r in res.disappeared],
        "unchanged": res.unchanged,
        "recall_gained": [f"{p.path}:{p.line} {p.family}" for p in res.covered_gain],
        "recall_lost": [f"{p.path}:{p.line} {p.family}" for p in res.covered_loss],
        "overhead": res.overhead,
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_pieces"]:
        return pieces_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", choices=[r.name for r in RUNS], help="runs to do (default: all)")
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("PYFAST_JUDGED", Path.home() / ".cache" / "pyfast-judged")))
    ap.add_argument("--work", type=Path, default=Path("/tmp/pyfast-profile-recall"),
                    help="folder for the copies, logs and reports (each run's copy is rebuilt)")
    ap.add_argument("--git", action="append", default=[], metavar="OWNER/NAME=DIR",
                    help="a clone holding the judged commit, for the non-Python files a run needs "
                         "(default /work/.mirror/OWNER+NAME/repo)")
    ap.add_argument("--runner", choices=("auto", "cli", "pieces"), default="auto",
                    help="profile with pyfast-check profile (cli), the profiler's pieces in one process "
                         "(pieces), or the CLI and the pieces when it fails (auto, the default)")
    ap.add_argument("--labels", type=Path, default=LABELS_FILE)
    ap.add_argument("--overhead", type=int, default=0, metavar="N",
                    help="also time plain vs profiled, N interleaved pairs (hold the timing lock)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    clones = {}
    for spec in args.git:
        name, sep, folder = spec.partition("=")
        if not sep:
            raise fail(f"--git {spec!r}: expected OWNER/NAME=DIR")
        clones[name] = Path(folder)
    labels = load_labels(args.labels)
    args.work.mkdir(parents=True, exist_ok=True)
    runs = [r for r in RUNS if not args.runs or r.name in args.runs]
    results = []
    for run in runs:
        repo = repo_of(run)
        copy = set_up(run, args.cache.expanduser(), args.work, clones)
        used, wall = profile(run, copy, args.work, args.runner)
        res = compare(run, repo, copy, labels, used, wall)
        if args.overhead > 0:
            res.overhead = overhead(run, copy, args.work, used, args.overhead)
        print_result(res)
        results.append(res)
    if args.json:
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(json.dumps([as_json(r) for r in results], indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, args.json)
    return 1 if any(r.unlabelled for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``pyfast-check profile``: tiny planted programs run in a subprocess, their reports checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runtime_check.profile.model import LineStat, RawResult, ThreadStat, write_text_atomic
from runtime_check.profile.report import build_report, format_plain
from runtime_check.profile.runner import UsageError, split_argv
from runtime_check.profile.sampler import UserCode
from runtime_check.profile.speedscope import to_speedscope

ROOT = Path(__file__).resolve().parent.parent


def profile(tmp_path: Path, *args: str, timeout: float = 60,
            path: tuple[Path, ...] = ()) -> subprocess.CompletedProcess[str]:
    """``path``: folders put ahead of the project on the child's PYTHONPATH."""
    pythonpath = [*map(str, path), str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(pythonpath))
    return subprocess.run([sys.executable, "-m", "runtime_check.cli", "profile", *args], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=timeout)


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def line_of(path: Path, marker: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if marker in text)


HOT_COLD = """
    import sys

    def hot(n):
        s = 0
        for i in range(n):
            s += i * i  # HOT
        return s

    def cold(n):
        s = 0
        for i in range(n):
            s += i * i  # COLD
        return s

    for _ in range(int(sys.argv[1])):
        hot(400_000)
        cold(100_000)
"""


def test_hot_line_ranks_above_cold_line_with_its_share(tmp_path):
    prog = write(tmp_path, "prog.py", HOT_COLD)
    proc = profile(tmp_path, "--no-lint", "--no-report", "--json", "out.json", "prog.py", "6")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    by_line = {(ln["path"], ln["line"]): ln for ln in data["lines"]}
    assert data["interval_ms"] == 5.0  # the default: 200 Hz
    hot = by_line[("prog.py", line_of(prog, "# HOT"))]
    cold = by_line[("prog.py", line_of(prog, "# COLD"))]
    assert data["lines"][0]["line"] == hot["line"]
    assert hot["seconds"] > cold["seconds"]
    # the hot line does 4x the work: 80% of the two; a generous band for a loaded machine
    assert 0.65 <= hot["seconds"] / (hot["seconds"] + cold["seconds"]) <= 0.92
    assert hot["code"] == "s += i * i  # HOT"
    total = sum(ln["share"] for ln in data["lines"])
    assert 0.9 <= total <= 1.0 + 1e-6
    secs = [ln["seconds"] for ln in data["lines"]]
    assert secs == sorted(secs, reverse=True)


def test_json_schema_and_speedscope(tmp_path):
    write(tmp_path, "prog.py", HOT_COLD)
    proc = profile(tmp_path, "--no-lint", "--interval-ms", "1", "--json", "out/report.json", "--speedscope",
                   "out/ss.json", "prog.py", "1")
    assert proc.returncode == 0, proc.stderr
    assert "Where the time goes (main thread)" in proc.stderr  # the report goes to stderr, the program keeps stdout
    data = json.loads((tmp_path / "out/report.json").read_text())
    for key, kind in (("command", list), ("python", str), ("wall_seconds", float), ("samples", int),
                      ("interval_ms", float), ("lines", list), ("findings", list), ("uncovered", list),
                      ("threads", list), ("exit_code", int)):
        assert isinstance(data[key], kind), key
    assert data["command"] == ["prog.py", "1"]
    assert data["samples"] > 10
    assert data["interval_ms"] == 1.0
    for ln in data["lines"]:
        assert {"path", "line", "seconds", "share", "native_share", "code"} <= set(ln)
        assert not os.path.isabs(ln["path"])
        assert 0.0 <= ln["native_share"] <= 1.0
    # no linter ran: every shown line is uncovered
    assert [(u["path"], u["line"]) for u in data["uncovered"]] == [(ln["path"], ln["line"]) for ln in data["lines"]]
    ss = json.loads((tmp_path / "out/ss.json").read_text())
    assert ss["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    prof = ss["profiles"][0]
    assert prof["type"] == "sampled" and prof["unit"] == "seconds"
    assert len(prof["samples"]) == len(prof["weights"]) > 0
    frames = ss["shared"]["frames"]
    assert all(0 <= i < len(frames) for sample in prof["samples"] for i in sample)
    assert any(f["name"].startswith("hot ") for f in frames)
    assert prof["endValue"] == pytest.approx(sum(prof["weights"]))


def test_report_is_plain_text_without_rich(tmp_path):
    """The profiler needs only the standard library: with rich not importable the same report is plain text."""
    blocker = tmp_path / "no_rich"
    write(blocker, "rich/__init__.py", "raise ImportError('rich is hidden by the test')\n")
    prog = write(tmp_path, "prog.py", HOT_COLD)
    proc = profile(tmp_path, "--no-lint", "--json", "out.json", "prog.py", "1", path=(blocker,))
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.splitlines()
    assert err[0] == "pyfast-check profile  prog.py 1"
    title = err.index("Where the time goes (main thread)")
    assert err[title + 1].split() == ["seconds", "share", "native", "line", "code"]
    first = json.loads((tmp_path / "out.json").read_text())["lines"][0]
    row = err[title + 2]
    assert f"prog.py:{first['line']} (" in row and row.endswith(first["code"])
    assert f"prog.py:{line_of(prog, '# HOT')} (hot)" in "\n".join(err)
    assert "Findings ranked by what they cost: none" in proc.stderr
    assert "JSON: out.json" in err


def test_program_that_raises_still_reports_and_exits_1(tmp_path):
    write(tmp_path, "boom.py", """
        def f():
            raise ValueError("planted failure")
        x = sum(i for i in range(200_000))
        f()
    """)
    proc = profile(tmp_path, "--no-lint", "--no-report", "--json", "out.json", "boom.py")
    assert proc.returncode == 1
    assert "ValueError: planted failure" in proc.stderr
    assert 'File "' in proc.stderr and "boom.py" in proc.stderr and "child.py" not in proc.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["exit_code"] == 1


def test_sys_exit_code_is_passed_on(tmp_path):
    write(tmp_path, "leave.py", "import sys\nprint('bye')\nsys.exit(3)\n")
    proc = profile(tmp_path, "--no-lint", "--no-report", "--json", "out.json", "leave.py")
    assert proc.returncode == 3
    assert proc.stdout.strip() == "bye"
    assert json.loads((tmp_path / "out.json").read_text())["exit_code"] == 3


def test_other_threads_are_reported_apart(tmp_path):
    prog = write(tmp_path, "threads.py", """
        import threading, time

        def spin():
            s = 0
            for i in range(3_000_000):
                s += i  # WORKER

        t = threading.Thread(target=spin, name="worker")
        t.start()  # MAIN STARTS
        t.join()  # MAIN WAITS
    """)
    proc = profile(tmp_path, "--no-lint", "--no-report", "--json", "out.json", "threads.py")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    worker_line = line_of(prog, "# WORKER")
    assert all(ln["line"] != worker_line for ln in data["lines"])
    # the main thread waits for the GIL in start() and for the worker in join()
    assert data["lines"][0]["line"] in (line_of(prog, "# MAIN STARTS"), line_of(prog, "# MAIN WAITS"))


def test_other_threads_time_is_reported(tmp_path):
    # (was flaky before the handler ignored ticks that arrive while it runs: nested handlers)
    prog = write(tmp_path, "threads.py", """
        import threading

        def spin():
            s = 0
            for i in range(3_000_000):
                s += i  # WORKER

        t = threading.Thread(target=spin, name="worker")
        t.start()
        t.join()
    """)
    proc = profile(tmp_path, "--no-lint", "--no-report", "--json", "out.json", "threads.py")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    worker_line = line_of(prog, "# WORKER")
    worker = next(t for t in data["threads"] if t["name"] == "worker")
    assert worker["lines"][0]["line"] == worker_line
    assert worker["seconds"] > 0.1 * data["wall_seconds"]


def test_module_mode_and_argv(tmp_path):
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/tool.py", """
        import json, sys
        if __name__ == "__main__":
            with open("seen.json", "w") as fh:
                json.dump({"argv": sys.argv, "spec": __spec__.name, "path0": sys.path[0]}, fh)
    """)
    proc = profile(tmp_path, "--no-lint", "--no-report", "-m", "pkg.tool", "a", "--json", "x", "-m", "y")
    assert proc.returncode == 0, proc.stderr
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["argv"][1:] == ["a", "--json", "x", "-m", "y"]
    assert seen["argv"][0].endswith(os.path.join("pkg", "tool.py"))
    assert seen["spec"] == "pkg.tool"
    assert os.path.samefile(seen["path0"], tmp_path)
    assert not (tmp_path / "x").exists()  # --json after the module belongs to the program


def test_script_argv_and_path(tmp_path):
    write(tmp_path, "sub/helper.py", "VALUE = 7\n")
    write(tmp_path, "sub/main.py", """
        import json, sys
        import helper  # found through sys.path[0], the script's folder
        json.dump({"argv": sys.argv[1:], "value": helper.VALUE, "name": __name__}, open("seen.json", "w"))
    """)
    proc = profile(tmp_path, "--no-lint", "--no-report", "sub/main.py", "--duration", "9", "b c")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "seen.json").read_text()) == {"argv": ["--duration", "9", "b c"], "value": 7,
                                                                 "name": "__main__"}


def test_duration_stops_an_endless_loop_with_a_report(tmp_path):
    prog = write(tmp_path, "endless.py", """
        def step(n):
            return n + 1  # STEP

        n = 0
        while True:
            n = step(n)
    """)
    proc = profile(tmp_path, "--no-lint", "--no-report", "--duration", "1", "--json", "out.json", "endless.py",
                   timeout=30)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["stopped"] is True
    assert 0.5 < data["wall_seconds"] < 10
    # CPython checks for signals at function entry: a short body's time shows on its def line
    assert any(ln["function"] == "step" and ln["line"] in (line_of(prog, "def step"), line_of(prog, "# STEP"))
               for ln in data["lines"])


def test_min_share_hides_small_lines(tmp_path):
    write(tmp_path, "prog.py", HOT_COLD)
    proc = profile(tmp_path, "--no-lint", "--no-report", "--min-share", "0.3", "--json", "out.json", "prog.py", "2")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["lines"] and all(ln["share"] >= 0.3 for ln in data["lines"])
    assert all(u["share"] >= 0.3 for u in data["uncovered"])
    assert all("# COLD" not in ln["code"] for ln in data["lines"])


def test_missing_script_is_a_clear_error(tmp_path):
    proc = profile(tmp_path, "--no-lint", "nothere.py")
    assert proc.returncode == 2
    assert "nothere.py" in proc.stderr and "no such file" in proc.stderr
    proc = profile(tmp_path, "--no-lint", "-m", "no_such_module_here")
    assert proc.returncode == 2
    assert "no_such_module_here" in proc.stderr


def test_profile_runs_with_the_linter(tmp_path):
    write(tmp_path, "prog.py", """
        import numpy as np
        x = 0.5
        for _ in range(20_000):
            y = np.sqrt(x)
    """)
    proc = profile(tmp_path, "--no-report", "--json", "out.json", "prog.py")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    assert isinstance(data["findings"], list) and data["lines"]
    covered = {(f["path"], f["line"]) for f in data["findings"]}
    assert not covered & {(u["path"], u["line"]) for u in data["uncovered"]}


def test_split_argv_stops_at_the_program():
    assert split_argv(["--duration", "2", "s.py", "--duration", "3"]) == (["--duration", "2"], "s.py", None,
                                                                          ["--duration", "3"])
    assert split_argv(["--no-lint", "-m", "pkg.mod", "-x"]) == (["--no-lint"], None, "pkg.mod", ["-x"])
    assert split_argv(["--json=o.json", "--", "-weird.py", "a"]) == (["--json=o.json"], "-weird.py", None, ["a"])
    assert split_argv(["--no-lint"]) == (["--no-lint"], None, None, [])
    # every option with a value is skipped whole (it once missed --compare-rounds)
    assert split_argv(["--compare", "--compare-rounds", "5", "--svg", "r.svg", "--interval-ms", "2", "t.py"]) == (
        ["--compare", "--compare-rounds", "5", "--svg", "r.svg", "--interval-ms", "2"], "t.py", None, [])
    with pytest.raises(UsageError):
        split_argv(["-m"])


def test_report_uncovered_are_the_lines_no_finding_covers():
    raw = RawResult(command=["p.py"], python="3", cwd="/x", wall_seconds=1.0, samples=100, interval_ms=1.0,
                    sampler="signal", exit_code=0,
                    lines=[LineStat("a.py", 3, 0.6, 0.3, "f", "x()"), LineStat("a.py", 9, 0.3, 0.0, "g", "y()"),
                           LineStat("b.py", 1, 0.1, 0.0, "h", "z()")],
                    threads=[ThreadStat("t", 5, 2.0, [LineStat("c.py", 2, 2.0, 0.0, "w", "q()")])])
    finding = {"code": "PYF101", "path": "a.py", "line": 3, "col": 1, "message": "m", "seconds": 0.6,
               "share": 0.6, "estimated_saving_seconds": 0.5, "kind_source": "static"}
    rep = build_report(raw, [finding], {("a.py", 3)}, min_share=0.2)
    assert [(ln.path, ln.line) for ln in rep.lines] == [("a.py", 3), ("a.py", 9)]
    assert rep.lines[0].share == pytest.approx(0.6) and rep.lines[0].native_share == pytest.approx(0.5)
    assert [(u["path"], u["line"]) for u in rep.uncovered] == [("a.py", 9)]
    assert rep.hidden_lines == 1
    assert rep.threads[0]["seconds"] == 2.0  # kept apart: no share of the main thread's time
    ss = to_speedscope(raw)
    assert ss["profiles"][0]["samples"] == []
    cold = dict(finding, line=40, seconds=0.0, share=0.0, estimated_saving_seconds=0.0)
    text = format_plain(build_report(raw, [finding, cold], {("a.py", 3), ("a.py", 40)}))
    table = text.split("Findings ranked by what they cost\n")[1].split("\n\n")[0].splitlines()
    assert len(table) == 3 and "a.py:3:1: PYF101 m" in table[1]  # header, the timed finding, the count line
    assert table[2].strip().startswith("1 more findings on lines no sample hit")


def test_user_code_excludes_libraries_and_honours_include_exclude(tmp_path):
    site = tmp_path / "venv" / "lib" / "site-packages" / "lib1"
    site.mkdir(parents=True)
    mine = tmp_path / "src" / "mine.py"
    user = UserCode([str(tmp_path)], cwd=str(tmp_path))
    assert user(str(mine))
    assert not user(str(site / "m.py"))
    assert not user(os.__file__)
    assert not user("<string>")
    assert UserCode([str(tmp_path)], include=[str(site)], cwd=str(tmp_path))(str(site / "m.py"))
    assert not UserCode([str(tmp_path)], exclude=["src/*"], cwd=str(tmp_path))(str(mine))


def test_svg_picture_of_the_report(tmp_path):
    pytest.importorskip("rich")
    write(tmp_path, "prog.py", HOT_COLD)
    proc = profile(tmp_path, "--no-lint", "--no-report", "--svg", "out/report.svg", "prog.py", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --no-report: the picture only
    svg = (tmp_path / "out/report.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "Where&#160;the&#160;time&#160;goes" in svg  # rich writes spaces as &#160;


def test_svg_without_rich_is_an_error_and_the_rest_is_written(tmp_path):
    blocker = tmp_path / "no_rich"
    write(blocker, "rich/__init__.py", "raise ImportError('rich is hidden by the test')\n")
    write(tmp_path, "prog.py", HOT_COLD)
    proc = profile(tmp_path, "--no-lint", "--json", "r.json", "--svg", "r.svg", "prog.py", "1", path=(blocker,))
    assert proc.returncode == 2
    assert "r.svg: the SVG picture needs rich" in proc.stderr
    assert "Where the time goes (main thread)" in proc.stderr  # the plain report still comes
    assert (tmp_path / "r.json").exists() and not (tmp_path / "r.svg").exists()


def test_report_files_get_the_usual_mode_and_keep_an_existing_one(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "new.json", "{}")
        kept = tmp_path / "kept.json"
        kept.write_text("old")
        kept.chmod(0o640)
        write_text_atomic(kept, "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.json", "new.json"]  # no temporary left


CALLS = """
    import sys

    def inner(n):
        s = 0
        for i in range(n):
            s += i * i  # INNER
        return s

    def outer(n):
        return inner(n)  # OUTER

    for _ in range(int(sys.argv[1])):
        outer(300_000)  # CALL
"""


def test_outer_lines_keep_the_time_of_the_users_own_callees(tmp_path):
    prog = write(tmp_path, "prog.py", CALLS)
    proc = profile(tmp_path, "--no-report", "prog.py", "6")  # with the linter: it stores .pyfast/profile.json
    assert proc.returncode == 0, proc.stderr
    lines = json.loads((tmp_path / ".pyfast" / "profile.json").read_text())["files"]["prog.py"]["lines"]
    inner, outer, call = (lines[str(line_of(prog, m))] for m in ("# INNER", "# OUTER", "# CALL"))
    assert inner[0] > 0.05 and inner[2] == 0.0  # its own time; nothing of the user's below it
    # the two call lines spend almost nothing themselves and wait for inner() the whole time
    assert outer[0] < 0.2 * inner[0] and call[0] < 0.2 * inner[0]
    assert outer[2] >= 0.95 * inner[0] and call[2] >= 0.95 * inner[0]

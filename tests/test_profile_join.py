"""The profile meets the linter: measured kinds and heat, costs in messages, stale files, the fixer.

Profiles here are written the way ``pyfast-check profile`` writes them (``join.write_profile``), from
hand-made measurements, so each test states exactly what the run "saw"; the end-to-end run of a real
program through the sampler and the observer is in ``tests/test_profile.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from flake8_pyfast.analysis.measured import PROFILE_PATH, measure_for, text_sha256
from flake8_pyfast.checker import collect_sites, lint_tree
from flake8_pyfast.rules.pyf303_forward_records_graph import ForwardRecordsGraph
from runtime_check.profile import join

# a helper module: nothing in it says what `a` holds or who calls `act` (another module, in a loop)
HELPER = textwrap.dedent("""\
    import numpy as np


    def act(a):
        return np.clip(a[0], -1.0, 1.0)


    def step(pos, goal):
        d = np.linalg.norm(pos - goal)
        return np.clip(d, 0.0, 1.0)


    def speed(v2):
        return np.sqrt(v2)
""")


def _site(tree_text: str, needle: str, line: int) -> tuple[int, int, int, int]:
    col = tree_text.splitlines()[line - 1].index(needle)
    return (line, col, line, col + len(needle))


def _profile(root: Path, files: dict[str, str], sites: dict[str, list[tuple[tuple[int, int, int, int], int, list]]],
             lines: dict[str, dict[int, float]], wall: float = 10.0) -> Path:
    for name, text in files.items():
        (root / name).write_text(text)
    payload: dict = {"sites": []}
    observed: dict = {"sites": {}}
    for name, entries in sites.items():
        for pos, count, kinds in entries:
            sid = len(payload["sites"])
            payload["sites"].append({"id": sid, "path": str(root / name), "line": pos[0], "col": pos[1],
                                     "end_line": pos[2], "end_col": pos[3]})
            observed["sites"][str(sid)] = {"count": count, "kinds": kinds}
    stats = [SimpleNamespace(path=name, line=n, seconds=s, native_seconds=0.0)
             for name, per in lines.items() for n, s in per.items()]
    return join.write_profile(root, ["main.py"], wall, stats, payload, observed)


NP_SCALAR = [{"type": "numpy_scalar", "dtype": "float64"}]
PY_LIST = [{"type": "list", "len": 2, "items": [{"type": "float"}, {"type": "float"}]}]


def test_observed_kind_makes_the_finding_and_says_so(tmp_path):
    site = _site(HELPER, "a[0]", 5)
    path = _profile(tmp_path, {"helper.py": HELPER}, {"helper.py": [(site, 5000, NP_SCALAR)]},
                    {"helper.py": {5: 1.5}})
    assert path == tmp_path / PROFILE_PATH
    assert (tmp_path / ".pyfast" / ".gitignore").read_text().splitlines()[-1] == "*"
    found = join.analyse(tmp_path, [tmp_path / "helper.py"])
    act = [f for f in found if f["line"] == 5]
    assert [f["code"] for f in act] == ["PYF101"]
    assert act[0]["kind_source"] == "observed"
    assert "ran 5,000 times in the profiled run" in act[0]["message"]
    assert act[0]["message"].endswith("(15.0% of the profiled run)")
    assert act[0]["seconds"] == pytest.approx(1.5) and act[0]["share"] == pytest.approx(0.15)
    # without the profile the same line says nothing: the kind of `a[0]` is unknown
    plain = lint_tree(__import__("ast").parse(HELPER), HELPER.splitlines(True), path=None, measure=None)
    assert 5 not in {f.line for f in plain}


def test_a_value_seen_holding_another_kind_keeps_the_rule_silent(tmp_path):
    site = _site(HELPER, "a[0]", 5)
    _profile(tmp_path, {"helper.py": HELPER}, {"helper.py": [(site, 5000, PY_LIST)]}, {"helper.py": {5: 1.5}})
    assert [f for f in join.analyse(tmp_path, [tmp_path / "helper.py"]) if f["line"] == 5] == []


def test_disagreeing_observations_are_no_kind(tmp_path):
    site = _site(HELPER, "a[0]", 5)
    mixed = [*NP_SCALAR, {"type": "ndarray", "dtype": "float32", "shape": [3]}]
    _profile(tmp_path, {"helper.py": HELPER}, {"helper.py": [(site, 5000, mixed)]}, {"helper.py": {5: 1.5}})
    assert [f for f in join.analyse(tmp_path, [tmp_path / "helper.py"]) if f["line"] == 5] == []


def test_measured_heat_replaces_name_based_heat(tmp_path):
    # `step` is a per-step name: statically hot. The run saw its line evaluated 3 times: set-up.
    site = _site(HELPER, "np.clip(d, 0.0, 1.0)", 10)
    _profile(tmp_path, {"helper.py": HELPER}, {"helper.py": [(site, 3, NP_SCALAR)]}, {"helper.py": {10: 0.01}})
    text = HELPER
    static = lint_tree(__import__("ast").parse(text), text.splitlines(True), measure=None)
    assert 10 in {f.line for f in static}
    assert [f for f in join.analyse(tmp_path, [tmp_path / "helper.py"]) if f["line"] == 10] == []
    # and evaluated often, the same line is hot for the measured reason
    _profile(tmp_path, {"helper.py": HELPER}, {"helper.py": [(site, 900, NP_SCALAR)]}, {"helper.py": {10: 0.2}})
    hot = [f for f in join.analyse(tmp_path, [tmp_path / "helper.py"]) if f["line"] == 10]
    assert len(hot) == 1 and "ran 900 times" in hot[0]["message"]


def test_findings_rank_by_seconds_and_estimate_the_saving(tmp_path):
    a_site, d_site = _site(HELPER, "a[0]", 5), _site(HELPER, "np.clip(d, 0.0, 1.0)", 10)
    v_site = _site(HELPER, "v2", 14)
    _profile(tmp_path, {"helper.py": HELPER},
             {"helper.py": [(a_site, 100, NP_SCALAR), (d_site, 100, NP_SCALAR), (v_site, 100, [{"type": "float"}])]},
             {"helper.py": {5: 0.2, 9: 5.0, 10: 0.9, 14: 3.0}})
    found = join.analyse(tmp_path, [tmp_path / "helper.py"])
    assert [(f["line"], f["seconds"]) for f in found] == [(14, 3.0), (10, 0.9), (5, 0.2)]
    sqrt = found[0]
    assert sqrt["code"] == "PYF101" and "4.8x faster" in sqrt["message"] and sqrt["kind_source"] == "observed"
    assert sqrt["estimated_saving_seconds"] == pytest.approx(3.0 * (1 - 1 / 4.8))
    assert found[1]["estimated_saving_seconds"] is None  # its message quotes no measured factor
    assert join.covered(found) == {("helper.py", 5), ("helper.py", 10), ("helper.py", 14)}


# PYF303's own first bad example: a greedy Q-network action per env step, outside no_grad
ACTING = ForwardRecordsGraph.bad[0].code


def test_a_forward_finding_costs_its_call_with_the_users_own_callees(tmp_path):
    # line 18 calls the network: 0.1 s on the line itself, 2.0 s in forward() (line 11) below it; the
    # no_grad fix speeds up the whole forward, so PYF303's cost counts both. Line 19's env.step is
    # not the user's code here (no callee time), and a rule about the line's own work counts only that.
    (tmp_path / "acting.py").write_text(ACTING)
    lines = ACTING.splitlines()
    call, body, env = (next(n for n, text in enumerate(lines, 1) if needle in text)
                       for needle in ("action = q(", "return self.fc(x)", "env.step(action)"))
    assert (call, body, env) == (18, 11, 19)  # the lines the comment above speaks of
    stats = [SimpleNamespace(path="acting.py", line=n, seconds=s, native_seconds=0.0)
             for n, s in ((call, 0.1), (body, 2.0), (env, 0.5))]
    under = [SimpleNamespace(path="acting.py", line=call, seconds=2.0, native_seconds=0.0)]
    path = join.write_profile(tmp_path, ["acting.py"], 10.0, stats, under=under)
    stored = json.loads(path.read_text())["files"]["acting.py"]["lines"]
    assert stored["18"] == [0.1, 0.0, 2.0] and stored["11"] == [2.0, 0.0, 0.0]
    found = [f for f in join.analyse(tmp_path, [tmp_path / "acting.py"]) if f["code"] == "PYF303"]
    assert len(found) == 1 and found[0]["line"] == 18
    assert found[0]["seconds"] == pytest.approx(2.1)
    assert found[0]["message"].endswith("(21.0% of the profiled run)")
    measure = measure_for(str(tmp_path / "acting.py"), ACTING, tmp_path / PROFILE_PATH)
    assert measure is not None
    assert measure.seconds(18, 18) == pytest.approx(0.1)  # what other rules count on that line
    assert measure.seconds(18, 18, callees=True) == pytest.approx(2.1)


def test_stale_file_is_ignored_with_one_line_on_stderr(tmp_path):
    site = _site(HELPER, "a[0]", 5)
    _profile(tmp_path, {"helper.py": HELPER}, {"helper.py": [(site, 5000, NP_SCALAR)]}, {"helper.py": {5: 1.5}})
    (tmp_path / "helper.py").write_text(HELPER + "\n# edited\n")
    proc = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "PYF", "helper.py"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert ":5:" not in proc.stdout  # the observed kind is gone with the stale profile
    assert ":10:" in proc.stdout and "profiled run" not in proc.stdout
    notes = [ln for ln in proc.stderr.splitlines() if "profile" in ln]
    assert len(notes) == 1 and "helper.py changed since it was profiled" in notes[0]


def test_flake8_reads_the_profile_and_config_can_turn_it_off(tmp_path):
    site = _site(HELPER, "a[0]", 5)
    _profile(tmp_path, {"helper.py": HELPER}, {"helper.py": [(site, 5000, NP_SCALAR)]}, {"helper.py": {5: 1.5}})
    cmd = [sys.executable, "-m", "flake8", "--select", "PYF", "helper.py"]
    on = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert "helper.py:5:12: PYF101" in on.stdout and "(15.0% of the profiled run)" in on.stdout
    (tmp_path / "pyproject.toml").write_text("[tool.pyfast]\nprofile = false\n")
    off = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert ":5:" not in off.stdout and "profiled run" not in off.stdout
    (tmp_path / "pyproject.toml").write_text("[tool.pyfast]\nprofile = 'no'\n")
    bad = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode != 0 and "profile must be true or false" in bad.stdout + bad.stderr


def test_a_broken_profile_is_named_and_linting_goes_on(tmp_path):
    (tmp_path / "helper.py").write_text(HELPER)
    (tmp_path / ".pyfast").mkdir()
    (tmp_path / PROFILE_PATH).write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "PYF", "helper.py"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert ":10:" in proc.stdout
    assert "profile.json: not a pyfast profile" in proc.stderr


def test_fixer_min_share_fixes_only_costly_findings(tmp_path):
    a_site, d_site = _site(HELPER, "a[0]", 5), _site(HELPER, "np.clip(d, 0.0, 1.0)", 10)
    profile = _profile(tmp_path, {"helper.py": HELPER},
                       {"helper.py": [(a_site, 100, NP_SCALAR), (d_site, 100, NP_SCALAR)]},
                       {"helper.py": {5: 0.05, 10: 2.0}})
    moved = tmp_path / "elsewhere.json"
    moved.write_text(profile.read_text())
    profile.unlink()
    cmd = [sys.executable, "-m", "autofix.cli", "--isolated", "--unsafe-fixes", "--profile", str(moved),
           "--min-share", "0.05", "helper.py"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr  # findings left
    text = (tmp_path / "helper.py").read_text()
    assert "return min(max(d, 0.0), 1.0)" in text  # 20% of the run: fixed
    assert "np.clip(a[0], -1.0, 1.0)" in text  # 0.5%: left alone, still reported
    assert "helper.py:5:12: PYF101" in proc.stdout


def test_fixer_rejects_a_missing_profile_and_writes_nothing(tmp_path):
    (tmp_path / "helper.py").write_text(HELPER)
    before = (tmp_path / "helper.py").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "autofix.cli", "--profile", "missing.json", "helper.py"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and "missing.json: cannot read" in proc.stderr
    assert (tmp_path / "helper.py").read_bytes() == before
    bad = subprocess.run([sys.executable, "-m", "autofix.cli", "--min-share", "5", "helper.py"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr


def test_measure_holds_only_for_the_profiled_text(tmp_path):
    site = _site(HELPER, "a[0]", 5)
    _profile(tmp_path, {"helper.py": HELPER}, {"helper.py": [(site, 5000, NP_SCALAR)]}, {"helper.py": {5: 1.5}})
    path = str(tmp_path / "helper.py")
    assert measure_for(path, HELPER) is not None
    assert measure_for(path, HELPER.replace("\n", "\r\n")) is not None  # line endings do not count
    assert measure_for(path, HELPER.replace("-1.0", "-2.0")) is None  # a fix in progress: no measure
    assert json.loads((tmp_path / PROFILE_PATH).read_text())["files"]["helper.py"]["sha256"] == text_sha256(HELPER)


def test_prepare_watches_finding_places_and_unanswered_kinds(tmp_path):
    (tmp_path / "helper.py").write_text(HELPER)
    (tmp_path / "notes.py").write_text("x = 1\n")  # no NumPy/PyTorch/PyBullet: not linted
    prep = join.prepare(tmp_path)
    assert prep.files == [(tmp_path / "helper.py").resolve()]
    got = {(s["line"], s["col"], s["end_line"], s["end_col"]) for s in prep.payload["sites"]}
    assert _site(HELPER, "a[0]", 5) in got  # the kind PYF101 asked for
    assert _site(HELPER, "np.clip(d, 0.0, 1.0)", 10) in got  # a place PYF101 reports
    found, unknown = collect_sites(__import__("ast").parse(HELPER))
    assert _site(HELPER, "a[0]", 5) in unknown and {f.line for f in found} >= {10}


def test_compare_fixes_a_copy_and_times_both(tmp_path):
    from runtime_check.profile import compare

    main = "import numpy as np\nfrom helper import speed\nprint(sum(speed(float(i)) for i in range(2000)))\n"
    v_site = _site(HELPER, "v2", 14)
    _profile(tmp_path, {"helper.py": HELPER, "main.py": main},
             {"helper.py": [(v_site, 2000, [{"type": "float"}])]}, {"helper.py": {14: 0.5}}, wall=1.0)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.py")}
    found = join.analyse(tmp_path, [tmp_path / "helper.py"])
    got = compare.compare(tmp_path, "script", str(tmp_path / "main.py"), [], found, 1.0, rounds=2, unsafe=True)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.py")} == before  # the user's files untouched
    # `speed` (its argument's kind observed) and `step` (static)
    assert got.fixes == {"PYF101": 2} and got.same_output and got.exit_codes == (0, 0)
    assert len(got.original_seconds) == len(got.fixed_seconds) == 2
    assert got.estimated_speedup == pytest.approx(1.0 / (1.0 - 0.5 * (1 - 1 / 4.8)))
    assert got.measured_speedup > 0
    with pytest.raises(compare.CompareError, match="inside the folder"):
        compare.compare(tmp_path, "script", "/elsewhere/main.py", [], found, 1.0, rounds=1)

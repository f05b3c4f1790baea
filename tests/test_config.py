"""One ``[tool.pyfast]``, one meaning: flake8, ``pyfast-fix`` and the libcst codemods agree on it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flake8_pyfast.analysis.settings import DEFAULT_SETTINGS
from flake8_pyfast.config import ConfigError, HeatOptions, load_table

MODULE = textwrap.dedent("""\
    import numpy as np


    def tick(x: float):
        return np.sqrt(x) * 2


    def act(x: float):
        return np.sqrt(x) * 3


    def rollout_one(x: float):
        return np.abs(x) < 0.5


    def step(x: float):
        return np.exp(x) + 1


    def warmup(n: int):
        y = 0.0
        for i in range(n):
            y = np.sqrt(float(i)) + y
        return y
    """)
TICK, ACT, ROLLOUT, STEP, WARMUP = 5, 9, 13, 17, 23
NEW_SPELLING = """\
[tool.pyfast]
hot-functions = ["step", "tick"]          # replaces the defaults: act() is no longer per-step
extend-hot-functions = ["rollout_*"]
extend-cold-functions = ["warmup"]
"""
LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<col>\d+): (?P<code>PYF\d{3}) ", re.MULTILINE)


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYFAST", "FLAKE8"))}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, check=False, env=env())


def project(tmp_path: Path, pyproject: str, name: str = "proj") -> Path:
    root = tmp_path / name
    (root / "src").mkdir(parents=True)
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (root / "src" / "m.py").write_text(MODULE, encoding="utf-8")
    return root


def flake8_findings(root: Path, *options: str) -> list[tuple[int, str]]:
    proc = run("-m", "flake8", "-j", "1", "--select", "PYF", *options, "src", cwd=root)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return sorted((int(m["row"]), m["code"]) for m in LINE.finditer(proc.stdout))


def fix_findings(root: Path) -> list[tuple[int, str]]:
    proc = run("-m", "autofix.cli", "--diff", "--unsafe-fixes", "--output-format", "json", "src", cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    return sorted((f["line"], f["code"]) for f in report["findings"] + report["fixes"])


def fixed_by_pyfast_fix(root: Path, copy: Path) -> str:
    shutil.copytree(root, copy)
    proc = run("-m", "autofix.cli", "--unsafe-fixes", "src", cwd=copy)
    assert proc.returncode in (0, 1), proc.stderr
    return (copy / "src" / "m.py").read_text(encoding="utf-8")


def fixed_by_codemod(root: Path, copy: Path) -> tuple[str, subprocess.CompletedProcess[str]]:
    shutil.copytree(root, copy)
    proc = run("-m", "libcst.tool", "codemod", "--no-format", "-x", "autofix.codemods.AllFixes", "--unsafe-fixes",
               "src", cwd=copy)
    return (copy / "src" / "m.py").read_text(encoding="utf-8"), proc


def three_front_ends(tmp_path: Path, root: Path) -> tuple[list[tuple[int, str]], str]:
    """The findings (flake8 == pyfast-fix) and the fixed module (pyfast-fix == codemod)."""
    linted = flake8_findings(root)
    assert fix_findings(root) == linted
    fixed = fixed_by_pyfast_fix(root, tmp_path / "fix-copy")
    codemodded, proc = fixed_by_codemod(root, tmp_path / "codemod-copy")
    assert proc.returncode == 0, proc.stderr
    assert codemodded == fixed
    return linted, fixed


def test_the_three_front_ends_agree_on_one_project(tmp_path):
    root = project(tmp_path, NEW_SPELLING)
    found, fixed = three_front_ends(tmp_path, root)
    # tick: hot-functions; rollout_one: extend-hot-functions; step: listed again; act: replaced away;
    # warmup's loop: extend-cold-functions
    assert found == [(TICK, "PYF101"), (ROLLOUT, "PYF101"), (STEP, "PYF101")]
    assert "math.sqrt(x) * 2" in fixed and "abs(x) < 0.5" in fixed and "math.exp(x) + 1" in fixed
    assert "np.sqrt(x) * 3" in fixed and "np.sqrt(float(i))" in fixed


def test_without_configuration_the_defaults_apply_everywhere(tmp_path):
    root = project(tmp_path, "[project]\nname = 'x'\n")
    found, _ = three_front_ends(tmp_path, root)
    assert found == [(ACT, "PYF101"), (STEP, "PYF101"), (WARMUP, "PYF101")]


def test_flake8_options_win_over_pyproject(tmp_path):
    root = project(tmp_path, NEW_SPELLING)
    # the command line replaces hot-functions; extend-hot-functions still comes from the pyproject
    assert flake8_findings(root, "--pyfast-hot-functions=act") == [(ACT, "PYF101"), (ROLLOUT, "PYF101")]
    assert flake8_findings(root, "--pyfast-extend-cold-functions=") == [
        (TICK, "PYF101"), (ROLLOUT, "PYF101"), (STEP, "PYF101"), (WARMUP, "PYF101")]
    # flake8's own configuration counts as given too
    (root / "setup.cfg").write_text("[flake8]\npyfast-extend-hot-functions = act\n", encoding="utf-8")
    assert flake8_findings(root) == [(TICK, "PYF101"), (ACT, "PYF101"), (STEP, "PYF101")]
    # (flake8 does not tell plugins about --isolated: it skips flake8's files, [tool.pyfast] still counts)
    assert flake8_findings(root, "--isolated") == [(TICK, "PYF101"), (ROLLOUT, "PYF101"), (STEP, "PYF101")]


def test_each_file_gets_its_nearest_pyproject(tmp_path):
    outer = project(tmp_path, "[tool.pyfast]\nextend-hot-functions = ['tick']\n")
    inner = outer / "src" / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[tool.pyfast]\nextend-hot-functions = ['rollout_*']\n", encoding="utf-8")
    (inner / "n.py").write_text(MODULE, encoding="utf-8")
    proc = run("-m", "flake8", "-j", "1", "--select", "PYF", "src", cwd=outer)
    rows = {(Path(m["path"]).name, int(m["row"])) for m in LINE.finditer(proc.stdout)}
    assert ("m.py", TICK) in rows and ("m.py", ROLLOUT) not in rows
    assert ("n.py", ROLLOUT) in rows and ("n.py", TICK) not in rows
    # pyfast-fix reads the hot/cold keys per file too (the fixer's own keys come from one config)
    proc = run("-m", "autofix.cli", "--diff", "--unsafe-fixes", "--output-format", "json", "src", cwd=outer)
    report = json.loads(proc.stdout)
    fixed = {(Path(f["path"]).name, f["line"]) for f in report["findings"] + report["fixes"]}
    assert fixed == rows


def test_old_spelling_still_adds_this_release_with_a_warning(tmp_path):
    root = project(tmp_path, "[tool.pyfast]\nhot-functions = ['tick']\n")
    found, _ = three_front_ends(tmp_path, root)
    assert found == [(TICK, "PYF101"), (ACT, "PYF101"), (STEP, "PYF101"), (WARMUP, "PYF101")]
    pyproject = str((root / "pyproject.toml").resolve())
    for proc in (run("-m", "flake8", "-j", "1", "--select", "PYF", "src", cwd=root),
                 run("-m", "autofix.cli", "--diff", "src", cwd=root)):
        warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
        assert len(warnings) == 1, proc.stderr
        assert pyproject in warnings[0]
        assert 'extend-hot-functions = ["tick"]' in warnings[0]


def test_new_spelling_replaces_without_a_warning(tmp_path):
    # a list naming a default pattern is a full list; so is any list beside extend-hot-functions
    for table in ("hot-functions = ['step', 'tick']", "hot-functions = ['tick']\nextend-hot-functions = []"):
        root = project(tmp_path, f"[tool.pyfast]\n{table}\n", name=f"p{len(table)}")
        proc = run("-m", "flake8", "-j", "1", "--select", "PYF", "src", cwd=root)
        assert "warning" not in proc.stderr
        rows = sorted(int(m["row"]) for m in LINE.finditer(proc.stdout))
        assert TICK in rows and ACT not in rows


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("hot-functions = 3", "hot-functions must be a list of strings"),
        ("extend-cold-functions = [1]", "extend-cold-functions must be a list of strings"),
        ("extend-hot-function = ['tick']", "unknown [tool.pyfast] key(s): extend-hot-function"),
        ("target = 'tpu'", "target must be one of 'auto', 'cpu', 'gpu', not 'tpu'"),
    ],
)
def test_a_bad_value_is_a_clear_error_naming_the_file(tmp_path, table, message):
    root = project(tmp_path, f"[tool.pyfast]\n{table}\n")
    where = str((root / "pyproject.toml").resolve())
    fixer = run("-m", "autofix.cli", "--diff", "src", cwd=root)
    assert fixer.returncode == 2 and message in fixer.stderr and where in fixer.stderr
    assert "Traceback" not in fixer.stderr
    linter = run("-m", "flake8", "-j", "1", "--select", "PYF", "src", cwd=root)
    said = linter.stdout + linter.stderr
    assert linter.returncode != 0 and message in said and where in said
    codemodded, codemod = fixed_by_codemod(root, tmp_path / "codemod-copy")
    assert codemod.returncode != 0 and message in codemod.stderr and "Failed to codemod 1 files" in codemod.stderr
    assert codemodded == MODULE


def test_heat_options_resolve_replace_then_extend():
    assert HeatOptions().settings() == DEFAULT_SETTINGS
    opts = HeatOptions(hot_functions=("tick",), extend_hot_functions=("a",), extend_cold_functions=("w",))
    assert opts.settings().hot_functions == ("tick", "a")
    assert opts.settings().cold_functions == (*DEFAULT_SETTINGS.cold_functions, "w")
    given = HeatOptions(hot_functions=("b",), extend_hot_functions=None)
    assert opts.overridden_by(given) == HeatOptions(("b",), ("a",), None, ("w",))
    assert HeatOptions(extend_hot_functions=("step",)).settings() == DEFAULT_SETTINGS  # no duplicates


def test_load_table_reads_and_checks(tmp_path, capsys):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.pyfast]\ncold-functions = ['init*']\nextend-hot-functions = 'tick'\n", encoding="utf-8")
    table = load_table(path)
    assert table.heat == HeatOptions(extend_hot_functions=("tick",), extend_cold_functions=("init*",))
    assert len(table.warnings) == 1 and "extend-cold-functions" in capsys.readouterr().err
    path.write_text("[tool.pyfast\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_table(path)

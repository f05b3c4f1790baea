"""The flake8 front end, through flake8's real command line."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

from conftest import CASES

LINE = re.compile(r"^(?P<path>.+?):(?P<row>\d+):(?P<col>\d+): (?P<code>PYF\d{3}) ")


def flake8(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *args],
        capture_output=True, text=True, cwd=cwd, check=False,
    )


def parse(stdout: str) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in stdout.splitlines():
        m = LINE.match(line)
        if m:
            out[Path(m["path"]).name].append((int(m["row"]), m["code"]))
    return out


def test_every_example_through_the_flake8_cli(tmp_path):
    """One flake8 run over every rule's good and bad examples: exact codes at exact lines."""
    for case in CASES:
        (tmp_path / f"{case.id}.py").write_text(case.example.code, encoding="utf-8")
    proc = flake8("--select", "PYF", str(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    found = parse(proc.stdout)
    for case in CASES:
        assert sorted(found.get(f"{case.id}.py", [])) == sorted(case.example.expect), case.id


def write(tmp_path: Path, name: str, code: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return path


def test_noqa_is_honoured(tmp_path):
    path = write(tmp_path, "m.py", """\
        import numpy as np

        def step(self, a):
            x = float(a)
            y = np.sqrt(x)  # noqa: PYF101
            z = np.exp(x)  # noqa: E501
            return np.abs(x) + y + z  # noqa
        """)
    proc = flake8("--select", "PYF", str(path))
    assert parse(proc.stdout)["m.py"] == [(6, "PYF101")]
    assert proc.returncode == 1


def test_hot_functions_option(tmp_path):
    path = write(tmp_path, "m.py", """\
        import numpy as np

        def tick(x: float):
            return np.sqrt(x)
        """)
    assert parse(flake8("--select", "PYF", str(path)).stdout)["m.py"] == []
    proc = flake8("--select", "PYF", "--pyfast-extend-hot-functions=tick", str(path))
    assert parse(proc.stdout)["m.py"] == [(4, "PYF101")]
    assert "per-step function `tick()`" in proc.stdout


def test_hot_functions_from_config(tmp_path):
    write(tmp_path, "setup.cfg", """\
        [flake8]
        select = PYF
        pyfast-hot-functions = tick
        """)
    write(tmp_path, "m.py", """\
        import numpy as np

        def tick(x: float):
            return np.sqrt(x)

        def step(x: float):
            return np.sqrt(x)
        """)
    proc = subprocess.run([sys.executable, "-m", "flake8", "m.py"], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert parse(proc.stdout)["m.py"] == [(4, "PYF101")]


def test_columns_count_characters_not_bytes(tmp_path):
    path = write(tmp_path, "m.py", """\
        import numpy as np

        def step(self, a):
            x = float(a)
            return "é" + str(np.sqrt(x))
        """)
    proc = flake8("--select", "PYF", "--format=%(row)d:%(col)d:%(code)s", str(path))
    assert proc.stdout.split() == ["5:22:PYF101"]


def test_files_without_numpy_torch_or_pybullet_cost_nothing(tmp_path):
    path = write(tmp_path, "m.py", "for i in range(3):\n    print(i)\n")
    proc = flake8("--select", "PYF", str(path))
    assert proc.returncode == 0 and proc.stdout == ""


def test_plugin_is_registered():
    proc = subprocess.run([sys.executable, "-m", "flake8", "--version"], capture_output=True, text=True, check=True)
    assert "pyfast: " in proc.stdout

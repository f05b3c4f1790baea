"""Every shell command in the README's usage sections runs, as printed, on a small sample project.

The commands are read from the README itself (```bash blocks under "## Usage" and "## Fixing",
their subsections included, and the ``pyfast-check doctor`` / ``compare`` lines of "## Proving
it"), so a documented command cannot rot. The long harness runs (``pyfast-check``, ``--quick``,
``--device``) are left to CI, which runs them. ``black`` on the PATH is a stand-in that fails, as
on a new user's machine without black.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
USAGE_SECTIONS = ("Usage", "Fixing")
#: what each documented program may exit with (README: flake8 and pyfast-fix exit 1 on findings)
EXIT_CODES = {
    "flake8": {0, 1},
    "pyfast-fix": {0, 1},
    "python -m libcst.tool codemod": {0},
    "pyfast-check doctor": {0},
    "pyfast-check compare": {0},
}
SAMPLE = {
    "src/env.py": """\
        import numpy as np


        def compute_reward(distance):
            d = float(distance)
            if np.abs(d) < 0.05:
                return 1.0
            return -np.sqrt(d * d + 1.0)
        """,
    "src/slow.py": """\
        import numpy as np


        def tick(x: float):
            return np.sqrt(x) * 2


        def rollout(n):
            x = np.zeros(4)
            for t in range(n):
                x = 0.5 + x
            return x
        """,
}


def readme_commands(text: str) -> list[str]:
    """The shell commands of the usage sections, one per line, in README order."""
    commands: list[str] = []
    section, fence = "", None
    for line in text.splitlines():
        if fence is None and line.startswith("## "):
            section = line[3:].strip()
            continue
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
            continue
        if fence != "bash" or not line.strip() or line.lstrip().startswith("#"):
            continue
        command = line.strip()
        if section.startswith(USAGE_SECTIONS):
            if command.startswith("pyfast-check") and not command.startswith(("pyfast-check doctor",
                                                                              "pyfast-check compare")):
                continue  # a harness run: CI's business
            commands.append(command)
        elif section.startswith("Proving it") and command.startswith(("pyfast-check doctor", "pyfast-check compare")):
            commands.append(command)
    return commands


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))


def program(command: str) -> str:
    for name in sorted(EXIT_CODES, key=len, reverse=True):
        if command.startswith(name + " "):
            return name
    raise AssertionError(f"README command of an unknown program (add it to EXIT_CODES): {command}")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readme-sample")
    for name, text in SAMPLE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    shims = root.parent / "shims"
    shims.mkdir(exist_ok=True)
    black = shims / "black"
    black.write_text("#!/bin/sh\necho 'black: not installed on this machine' >&2\nexit 127\n", encoding="utf-8")
    black.chmod(0o755)
    return root


def run_in_copy(command: str, sample: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``command`` through bash in a fresh copy of the sample project, this Python's scripts first on PATH."""
    work = tmp_path / "project"
    shutil.copytree(sample, work)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYFAST", "FLAKE8"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), str(sample.parent / "shims"),
                                   env.get("PATH", "")])
    return subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def problems(command: str, proc: subprocess.CompletedProcess[str]) -> list[str]:
    """What is wrong with how ``command`` ran (nothing: as documented)."""
    out = proc.stdout + proc.stderr
    found = []
    if proc.returncode not in EXIT_CODES[program(command)]:
        found.append(f"exit code {proc.returncode}, documented {sorted(EXIT_CODES[program(command)])}")
    for bad in ("Traceback", "command not found", "No such file", "No module named"):
        if bad in out:
            found.append(f"{bad!r} in the output")
    if "libcst.tool codemod" in command and "Failed to codemod 0 files" not in out:
        found.append("libcst failed to codemod a file")
    return found


def test_the_usage_sections_are_read():
    programs = {program(c) for c in COMMANDS}
    assert programs == set(EXIT_CODES)
    assert len(COMMANDS) >= 15, COMMANDS
    assert "pyfast-check --quick --json out.json --plot out.png" not in COMMANDS  # the harness runs are CI's
    assert not any(c.startswith("pip ") or c.startswith("- repo:") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs_as_documented(command, sample, tmp_path):
    proc = run_in_copy(command, sample, tmp_path)
    assert not problems(command, proc), f"{command}\n{problems(command, proc)}\n{proc.stdout}\n{proc.stderr}"
    if program(command) == "flake8":
        assert ": PYF" in proc.stdout  # the sample has findings; the command reported them
    if "libcst.tool codemod" in command:  # it did its job, not only exited 0
        assert (tmp_path / "project" / "src" / "slow.py").read_text() != (sample / "src" / "slow.py").read_text()
    if "--stdin-filename" in command:
        assert "def compute_reward" in proc.stdout and "abs(d) < 0.05" in proc.stdout


def test_a_broken_command_is_caught(sample, tmp_path):
    """The check above fails when a command breaks, e.g. without ``--no-format`` (libcst runs black)."""
    codemod = next(c for c in COMMANDS if "libcst.tool codemod" in c)
    broken = re.sub(r"\s--no-format\b", "", codemod)
    assert broken != codemod
    assert problems(broken, run_in_copy(broken, sample, tmp_path))
    typo = codemod.replace("autofix.codemods", "autofix.codemod")
    assert problems(typo, run_in_copy(typo, sample, tmp_path / "typo"))

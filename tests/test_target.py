"""``target``: where the code runs decides findings whose gain exists only on a GPU (PYF205's device
part, PYF301), in all three front ends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flake8_pyfast.analysis.settings import Settings
from flake8_pyfast.checker import lint_source

#: GPU-only findings (a device move, a tensor branch) and a CPU one (a cast), in a module that says
#: nothing about CUDA, MPS or devices
CPU_MODULE = """\
import torch


def step(obs, act: torch.Tensor):
    mask = torch.zeros(4).to("cuda:0")
    ids = torch.zeros(4).to(torch.int64)
    if act.norm() > 1.0:
        act = act / act.norm()
    return mask, ids, act
"""
#: the same, in a module written for a device it is given
DEVICE_MODULE = CPU_MODULE.replace(
    "def step(obs, act: torch.Tensor):", "def step(obs, act: torch.Tensor, device):").replace(
    '.to("cuda:0")', ".to(device)")


def codes(source: str, target: str) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in lint_source(source, Settings(target=target))]


def test_auto_reports_gpu_only_gains_only_where_the_module_may_run_on_a_gpu() -> None:
    assert codes(CPU_MODULE, "auto") == [(6, "PYF205")]  # the cast pays on a CPU too
    assert codes(DEVICE_MODULE, "auto") == [(5, "PYF205"), (6, "PYF205"), (7, "PYF301")]
    cuda = CPU_MODULE.replace("def step", "DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'\n\n\ndef step")
    assert [c for _, c in codes(cuda, "auto")] == ["PYF205", "PYF205", "PYF301"]


@pytest.mark.parametrize(("target", "expected"), [
    ("cpu", [(6, "PYF205")]),
    ("gpu", [(5, "PYF205"), (6, "PYF205"), (7, "PYF301")]),
])
def test_an_explicit_target_wins_over_the_module(target: str, expected: list[tuple[int, str]]) -> None:
    assert codes(DEVICE_MODULE, target) == expected
    assert codes(CPU_MODULE, target) == expected


@pytest.mark.parametrize("move", ['.to("cpu")', ".to(torch.device('cpu'))", '.to(device="cpu:0")'])
def test_a_move_to_the_host_is_no_finding(move: str) -> None:
    source = f"import torch\n\n\ndef step(device):\n    return torch.zeros(4){move}\n"
    assert codes(source, "gpu") == []


def test_the_front_ends_read_target_from_pyproject_and_flake8_options(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.pyfast]\ntarget = "cpu"\n')
    (root / "src" / "m.py").write_text(textwrap.dedent(DEVICE_MODULE))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYFAST", "FLAKE8"))}

    def flake8(*options: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-m", "flake8", "-j", "1", "--select", "PYF", *options, "src"],
                              cwd=root, capture_output=True, text=True, check=False, env=env)
        assert proc.returncode in (0, 1), proc.stderr
        return [line.split(":")[1] for line in proc.stdout.splitlines()]

    assert flake8() == ["6"]
    assert flake8("--pyfast-target", "gpu") == ["5", "6", "7"]
    fixer = subprocess.run([sys.executable, "-m", "autofix.cli", "--diff", "--unsafe-fixes", "src"],
                           cwd=root, capture_output=True, text=True, check=False, env=env)
    assert "torch.zeros(4, dtype=torch.int64)" in fixer.stdout
    assert "torch.zeros(4, device=device)" not in fixer.stdout


def test_device_moves_in_set_up_code_are_not_reported() -> None:
    """PYF205's gain is per call: constructors and a script's start run once. A function no known
    hot code calls is not "once": its callers may be out of sight."""
    source = textwrap.dedent("""\
        import torch

        device = torch.device("cuda")
        buf = torch.zeros(100, 4).to(device)


        class Agent:
            def __init__(self):
                self.alpha = torch.zeros(1).to(device)

            def update_parameters(self, batch):
                return torch.zeros(4).to(device)
        """)
    assert codes(source, "auto") == [(12, "PYF205")]

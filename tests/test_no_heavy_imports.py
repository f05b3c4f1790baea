"""The linter must work where numpy, torch, pybullet are absent, and must not pay for libcst."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from flake8_pyfast.checker import lint_source
from flake8_pyfast.rules import all_rules
for rule in all_rules():
    for ex in rule.bad:
        lint_source(ex.code)
heavy = sorted(m for m in ("numpy", "torch", "pybullet", "libcst") if m in sys.modules)
print(",".join(heavy))
"""


def test_linting_imports_no_numpy_torch_pybullet_or_libcst():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


BLOCKED = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("numpy", "torch", "pybullet"):
            raise ImportError(f"{name} is not installed here")
        return None
sys.meta_path.insert(0, Block())
from flake8.main.cli import main
sys.exit(main(["--isolated", "--select", "PYF", sys.argv[1]]))
"""


def test_flake8_runs_when_numpy_and_torch_cannot_be_imported(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("import numpy as np\n\ndef step(x: float):\n    return np.sqrt(x)\n")
    proc = subprocess.run([sys.executable, "-c", BLOCKED, str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "PYF101" in proc.stdout

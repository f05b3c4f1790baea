"""pyfast: find slow NumPy / PyTorch / PyBullet patterns in hot RL and simulation code.

This package is the detection side: the shared analysis and the PYF rules. It must never import
numpy, torch or pybullet (users lint code on machines without them), and it does not import libcst
either: the flake8 path works on the ``ast`` that flake8 already parsed.
"""

from __future__ import annotations

__version__ = "0.1.0"

from flake8_pyfast.checker import Settings, lint_source, lint_tree
from flake8_pyfast.model import Finding, Fix

__all__ = ["Finding", "Fix", "Settings", "__version__", "lint_source", "lint_tree"]

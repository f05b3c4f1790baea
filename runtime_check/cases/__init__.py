"""Paired slow/fast cases for the rules that have no automatic fix.

One module per rule, named ``pyfNNN_<what>.py``, each following the rule's documented "use
instead" on the built-in workload's own data. A case module defines ``CODE``, ``REPS`` (calls per
timing round), ``setup(seed) -> state``, ``slow(state)``, ``fast(state)``,
``equivalent(a, b) -> (bool, how)`` and optionally ``teardown(state)``. The slow side is written
exactly as the workload writes it.
"""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"(pyf\d{3})_\w+\.py$")


def case_files() -> dict[str, Path]:
    """Rule code -> the case module's file."""
    out = {}
    for path in sorted(Path(__file__).parent.glob("pyf*.py")):
        m = _NAME.match(path.name)
        if m:
            out[m.group(1).upper()] = path
    return out

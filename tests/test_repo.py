"""The repository's promises about itself: README commands, CI, docs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "the README starts with a bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_install_and_test_commands():
    install, tests = readme_commands()[:2]
    assert install.startswith("pip install torch==2.13.0 && pip install")
    assert "pyfast-check" in install
    assert tests == "python -m pytest -q"


def test_ci_runs_exactly_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    for command in readme_commands()[:2]:
        assert command in ci.splitlines(), f"CI does not run {command!r}"
    assert ci.index("pip install torch==2.13.0") < ci.index("python -m pytest -q")


def test_readme_rule_table_is_current():
    from flake8_pyfast.docs import TABLE_END, TABLE_START, render_table

    text = (ROOT / "README.md").read_text()
    table = text[text.index(TABLE_START) + len(TABLE_START):text.index(TABLE_END)].strip()
    assert table == render_table().strip()

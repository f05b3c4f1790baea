"""Generate ``docs/rules.md`` and the README's rule table from the rules themselves.

Run ``python -m flake8_pyfast.docs`` after changing a rule; a test fails while they are stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from flake8_pyfast.rules import all_rules

TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"
_FIX = {"no": "-", "safe": "safe", "unsafe": "unsafe", "sometimes": "safe/unsafe"}


def render_table() -> str:
    rows = ["| Code | Name | What it finds | Fix | Hot code only |", "|---|---|---|---|---|"]
    for rule in all_rules():
        anchor = f"{rule.code.lower()}-{rule.name}".replace("_", "-")
        rows.append(
            f"| [{rule.code}](docs/rules.md#{anchor}) | `{rule.name}` | {rule.summary} | "
            f"{_FIX[rule.fixable]} | {'yes' if rule.hot_only else 'no'} |"
        )
    return "\n".join(rows) + "\n"


def render_rules() -> str:
    parts = [
        "# pyfast rules\n",
        "Generated from the rule modules by `python -m flake8_pyfast.docs`; do not edit by hand.\n",
        "Speed factors were measured on a 2-core x86-64 CPU (see `bench/pattern_speed.py` and "
        "`docs/benchmarks.md`). *Hot code* means a loop or comprehension body, a `while` condition, a "
        "per-step function (`step`, `reset`, `forward`, `act`, `_get_obs`, reward helpers, ...; see "
        "`--pyfast-hot-functions`) or a function those call in the same module.\n",
    ]
    for rule in all_rules():
        parts.append(rule.documentation())
    return "\n".join(parts)


def update_readme(readme: Path) -> bool:
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), re.S)
    new = pattern.sub(TABLE_START + "\n" + render_table() + TABLE_END, text)
    if new != text:
        readme.write_text(new, encoding="utf-8")
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0]) if argv else Path.cwd()
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "rules.md").write_text(render_rules(), encoding="utf-8")
    readme = root / "README.md"
    if readme.exists():
        update_readme(readme)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Which codes apply to a file: ``select`` / ``ignore`` / ``per-file-ignores`` and ``# noqa``."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from flake8_pyfast.model import Finding
from flake8_pyfast.rules import all_codes

# flake8's own pattern (case-insensitive, optional codes after a colon)
NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


class SelectionError(ValueError):
    """A code or prefix that matches no rule."""


def check_codes(codes: Iterable[str], where: str) -> tuple[str, ...]:
    known = all_codes()
    out = []
    for code in codes:
        code = code.strip().upper()
        if not code:
            continue
        if not any(k.startswith(code) for k in known):
            raise SelectionError(f"{where}: unknown code or prefix {code!r} (known: {', '.join(known)})")
        out.append(code)
    return tuple(out)


@dataclass(frozen=True)
class Selection:
    """Longest matching prefix wins; on a tie, ``ignore`` wins (as in ruff)."""

    select: tuple[str, ...] = ("PYF",)
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = field(default_factory=tuple)

    def enabled(self, code: str, path: str | None = None) -> bool:
        ignore = self.ignore
        if path is not None and self.per_file_ignores:
            ignore = ignore + self.ignores_for(path)
        best_select = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        best_ignore = max((len(p) for p in ignore if code.startswith(p)), default=-1)
        return best_select >= 0 and best_select > best_ignore

    def ignores_for(self, path: str) -> tuple[str, ...]:
        pure = PurePath(path)
        out: list[str] = []
        for pattern, codes in self.per_file_ignores:
            if _matches(pure, pattern):
                out.extend(codes)
        return tuple(out)

    def codes(self, path: str | None = None) -> tuple[str, ...]:
        return tuple(c for c in all_codes() if self.enabled(c, path))


def _matches(path: PurePath, pattern: str) -> bool:
    text = path.as_posix()
    return (
        fnmatch.fnmatch(text, pattern)
        or fnmatch.fnmatch(path.name, pattern)
        or fnmatch.fnmatch(text, f"*/{pattern}")
        or text.startswith(pattern.rstrip("/") + "/")
    )


def noqa_filter(findings: Sequence[Finding], lines: Sequence[str]) -> list[Finding]:
    """Drop findings suppressed by ``# noqa`` / ``# noqa: CODE, ...`` on their line, as flake8 does."""
    out = []
    cache: dict[int, tuple[str, ...] | None] = {}  # line -> None (no noqa) or its codes (empty: all)
    for f in findings:
        if f.line not in cache:
            text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
            m = NOQA.search(text)
            if m is None:
                cache[f.line] = None
            else:
                cache[f.line] = tuple(c.upper() for c in re.split(r"[,\s]+", m.group("codes") or "") if c)
        noqa = cache[f.line]
        if noqa is not None and (not noqa or any(f.code.startswith(c) for c in noqa)):
            continue
        out.append(f)
    return out

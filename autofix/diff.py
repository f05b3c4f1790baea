"""Unified diffs that stay fast on big files.

``difflib`` alone is superlinear on a 100,000-line file with thousands of scattered edits. Here,
lines that occur exactly once in both versions, in the same order (their longest increasing
subsequence), anchor the match; ``difflib`` only compares the small gaps between anchors.
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Iterator, Sequence

Opcode = tuple[str, int, int, int, int]


def _anchors(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    count_a, count_b = Counter(a), Counter(b)
    where_b = {line: j for j, line in enumerate(b) if count_b[line] == 1}
    pairs = [(i, where_b[line]) for i, line in enumerate(a) if count_a[line] == 1 and line in where_b]
    # longest increasing subsequence of the b positions (patience sorting)
    tails: list[int] = []  # tails[k]: smallest b position ending an increasing run of length k + 1
    tail_at: list[int] = []  # index into pairs of that tail
    back: list[int] = [-1] * len(pairs)
    for n, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(n)
        else:
            tails[k] = j
            tail_at[k] = n
        back[n] = tail_at[k - 1] if k else -1
    out: list[tuple[int, int]] = []
    n = tail_at[-1] if tail_at else -1
    while n >= 0:
        out.append(pairs[n])
        n = back[n]
    return out[::-1]


def opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    ops: list[Opcode] = []

    def add(tag: str, i1: int, i2: int, j1: int, j2: int) -> None:
        if i1 == i2 and j1 == j2:
            return
        if ops and ops[-1][0] == tag == "equal":
            _, pi1, _, pj1, _ = ops[-1]
            ops[-1] = ("equal", pi1, i2, pj1, j2)
        else:
            ops.append((tag, i1, i2, j1, j2))

    ai = bj = 0
    for i, j in [*_anchors(a, b), (len(a), len(b))]:
        if i - ai or j - bj:
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a[ai:i], b[bj:j], autojunk=False).get_opcodes():
                add(tag, ai + i1, ai + i2, bj + j1, bj + j2)
        if i < len(a):
            add("equal", i, i + 1, j, j + 1)
        ai, bj = i + 1, j + 1
    return ops


class _Matcher(difflib.SequenceMatcher):
    def __init__(self, a: Sequence[str], b: Sequence[str]) -> None:
        super().__init__(None, a, b, autojunk=False)
        self._ops = opcodes(a, b)

    def get_opcodes(self) -> list[Opcode]:  # type: ignore[override]
        return list(self._ops)


def _range(start: int, stop: int) -> str:
    length = stop - start
    first = start + 1
    if length == 1:
        return f"{first}"
    if not length:
        first -= 1
    return f"{first},{length}"


def unified_diff(a: Sequence[str], b: Sequence[str], fromfile: str, tofile: str, n: int = 3) -> Iterator[str]:
    """Like :func:`difflib.unified_diff` (lines keep their endings), but fast on big files."""
    started = False
    for group in _Matcher(a, b).get_grouped_opcodes(n):
        if not started:
            started = True
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            yield from ("-" + line for line in a[i1:i2])
            yield from ("+" + line for line in b[j1:j2])

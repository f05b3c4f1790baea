"""Phase timing and trace recording for the workloads.

This code is identical in the baseline and in every variant (the fixer never has anything to
rewrite here), so it costs every variant the same. Phases are coarse: ``simulation`` (stepping
and reading PyBullet), ``conversion`` (turning observations into arrays and tensors), ``policy``
(acting) and ``update`` (the PPO update).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

PHASES = ("simulation", "conversion", "policy", "update")


class Gate:
    """Turn-taking between two processes: each epoch starts only when it is this process's turn.

    ``pyfast-check`` runs the baseline and a variant side by side this way, so that their epochs
    alternate (A B A B ...) and each pair is measured a fraction of a second apart: a machine
    that speeds up and slows down (a shared VM) then affects both halves of a pair alike.
    """

    def __init__(self, mine: Any, theirs: Any) -> None:
        self.mine = mine
        self.theirs = theirs

    def wait(self) -> None:
        self.mine.acquire()

    def done(self) -> None:
        self.theirs.release()


#: set by the harness in a child process before the workload runs; ``None``: no turn-taking
GATE: Gate | None = None


#: "cpu": this process's CPU time, blind to other processes competing for the cores (steadier on a
#: shared machine, right for single-threaded CPU runs); "wall": elapsed time (needed on a GPU,
#: where waiting for the device is part of the cost)
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


class _Phase:
    __slots__ = ("clock", "name", "rec", "start")

    def __init__(self, rec: Recorder, name: str) -> None:
        self.rec = rec
        self.name = name
        self.start = 0.0
        self.clock = rec.clock

    def __enter__(self) -> None:
        self.start = self.clock()

    def __exit__(self, *exc: object) -> None:
        self.rec.current[self.name] += self.clock() - self.start


class Recorder:
    """Per-epoch wall time and phase times, plus what the equivalence check compares."""

    def __init__(self, clock: str = "wall") -> None:
        self.clock = CLOCKS[clock]
        self._phases = {name: _Phase(self, name) for name in PHASES}
        self.current: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.epochs: list[dict[str, float]] = []
        self._epoch_start = 0.0
        self.trace: dict[str, list[Any]] = {}

    def phase(self, name: str) -> _Phase:
        return self._phases[name]

    def start_epoch(self) -> None:
        if GATE is not None:
            GATE.wait()
        self.current = dict.fromkeys(PHASES, 0.0)
        self._epoch_start = self.clock()

    def end_epoch(self) -> None:
        record = dict(self.current)
        record["total"] = self.clock() - self._epoch_start
        self.epochs.append(record)
        if GATE is not None:
            GATE.done()

    # -- trace ---------------------------------------------------------------------------------
    def record(self, key: str, value: Any) -> None:
        """Keep ``value`` (an array, a tensor, a number) for the equivalence check."""
        self.trace.setdefault(key, []).append(_plain(value))

    def minibatch(self, indices: Iterable[Any]) -> None:
        """The sample indices of one minibatch, for the invariants check (each sample once)."""
        self.trace.setdefault("minibatch_indices", []).append([int(i) for i in indices])


def _plain(value: Any) -> Any:
    """Copy a tensor or array out of the loop so later in-place updates cannot change it."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy().copy()
    if hasattr(value, "copy"):
        return value.copy()
    return value

"""A wall-clock sampler that charges time to the innermost line of the user's own code.

Two ways to take samples, both measured in ``bench/profile_overhead.py``:

* ``signal`` (the default): ``setitimer(ITIMER_REAL)`` delivers SIGALRM every interval; the handler
  runs in the main thread at the next point where the interpreter checks for signals. A C call that
  holds the interpreter (a physics step, a NumPy ufunc) delays the handler until it returns, while
  the calling line is still the current one: so the handler charges the *time elapsed since the
  previous sample* (not a count: signals that arrive during a long call coalesce) to that line, and
  the part of it beyond one interval is counted as native time -- capped by the CPU time the main
  thread used beyond one interval, so that time the process waited for a CPU (a loaded machine)
  is not mistaken for native code.
* ``thread``: a daemon thread wakes every interval and reads ``sys._current_frames()``.

Other threads are sampled from the same tick through ``sys._current_frames()`` and kept apart from
the main thread's lines.
"""

from __future__ import annotations

import bisect
import fnmatch
import os
import signal
import sys
import sysconfig
import threading
import time
from collections.abc import Iterable
from types import CodeType, FrameType
from typing import Any

_PROFILER_DIR = os.path.dirname(os.path.abspath(__file__))

# per (path, line) accumulator: [seconds, native_seconds, function]
LineAcc = dict[tuple[str, int], list[Any]]


class UserCode:
    """Decides whether a file is the user's code: under a root, not a library, not excluded."""

    def __init__(self, roots: Iterable[str], include: Iterable[str] = (), exclude: Iterable[str] = (),
                 cwd: str | None = None) -> None:
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.roots = [self._dir(r) for r in roots]
        self.include = [self._dir(r) for r in include]
        self.exclude = list(exclude)
        libs = {sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        libs |= {os.path.join(p, "lib") for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}}
        self.libraries = [self._dir(p) for p in libs if p]
        self._cache: dict[str, bool] = {}

    @staticmethod
    def _dir(path: str) -> str:
        return os.path.join(os.path.realpath(os.path.abspath(path)), "")

    def __call__(self, filename: str) -> bool:
        hit = self._cache.get(filename)
        if hit is None:
            hit = self._cache[filename] = self._decide(filename)
        return hit

    def _decide(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):
            return False
        path = os.path.realpath(os.path.abspath(filename))
        if path.startswith(os.path.join(_PROFILER_DIR, "")):
            return False
        rel = os.path.relpath(path, self.cwd)
        for pattern in self.exclude:
            if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(path, pattern):
                return False
        if any(path.startswith(d) for d in self.include):
            return True
        if not any(path.startswith(d) for d in self.roots):
            return False
        parts = path.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            return False
        # the standard library (and a virtual environment's lib/) unless a root lies inside it
        return not any(path.startswith(lib) and not any(root.startswith(lib) for root in self.roots)
                       for lib in self.libraries)


#: a place in the code as the handler records it: (id of the code object, f_lasti); resolved to a line
#: only after the run (``f_lineno`` scans the code's line table from its start: 76 us at the end of
#: a 3,000-line function, where ``f_lasti`` is 0.1 us)
Place = tuple[int, int]


class Sampler:
    """Samples the main thread (and the others) every ``interval`` seconds of wall time.

    After :meth:`stop`, ``lines`` (own time per line), ``under`` (time an outer line waited for the
    user's own callees), ``threads`` and ``stacks`` hold the result keyed by file and line."""

    def __init__(self, user: UserCode, interval: float = 0.001, mode: str = "signal",
                 keep_stacks: bool = True) -> None:
        if mode not in ("signal", "thread"):
            raise ValueError(f"unknown sampler mode {mode!r}")
        self.user = user
        self.interval = interval
        self.mode = mode
        self.keep_stacks = keep_stacks
        self.lines: LineAcc = {}
        # per (path, line) of an outer user frame: [seconds spent below it in the user's own callees, 0, function]
        self.under: LineAcc = {}
        self.other_seconds = 0.0
        self.threads: dict[int, list[Any]] = {}  # ident -> [seconds, LineAcc]
        self.thread_names: dict[int, str] = {}
        self.stacks: dict[tuple[tuple[str, str, int], ...], float] = {}
        self.samples = 0
        self.handler_seconds = 0.0
        # what the handler records, by place; resolved into the attributes above by ``resolve()``
        self._own: dict[Place, list[float]] = {}  # [seconds, native_seconds]
        self._under: dict[Place, float] = {}
        self._thread_places: dict[int, list[Any]] = {}  # ident -> [seconds, {place: seconds}]
        self._stacks: dict[tuple[Place, ...], float] = {}
        self._codes: dict[int, CodeType] = {}  # keeps each recorded code object alive: its id stays unique
        self._user_files: dict[str, bool] = {}  # keyed by co_filename: str hashes are cached, code hashes are not
        self._main_ident = threading.main_thread().ident
        self._last = 0.0
        self._last_cpu = 0.0
        self._cpu_clock: int | None = None  # the main thread's CPU clock, for the thread mode
        self._running = False
        self._thread: threading.Thread | None = None
        self._previous_handler: Any = None
        self._previous_switch: float | None = None
        self._in_handler = False

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._last = time.perf_counter()
        if self.mode == "thread":
            try:
                self._cpu_clock = time.pthread_getcpuclockid(threading.main_thread().ident or 0)
            except (AttributeError, OSError):  # not on every platform: no cap on native time then
                self._cpu_clock = None
        self._last_cpu = self._main_cpu()
        self._running = True
        if self.mode == "signal":
            self._previous_handler = signal.signal(signal.SIGALRM, self._on_signal)
            # no SA_RESTART: a main thread blocked in join()/queue.get() must wake to sample the others
            signal.setitimer(signal.ITIMER_REAL, self.interval, self.interval)
        else:
            # the interpreter hands the GIL to a waiting thread only every switch interval (5 ms): a
            # sample waiting that long would be charged where the main thread next let go of it
            self._previous_switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._previous_switch, self.interval / 4))
            self._thread = threading.Thread(target=self._thread_loop, name="pyfast-sampler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        if self.mode == "signal":
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, self._previous_handler or signal.SIG_DFL)
        elif self._thread is not None:
            self._thread.join()
            if self._previous_switch is not None:
                sys.setswitchinterval(self._previous_switch)
        self.resolve()

    # -- sampling --------------------------------------------------------------------------------
    def _main_cpu(self) -> float:
        if self.mode == "signal":
            return time.thread_time()  # the handler runs in the main thread
        if self._cpu_clock is None:
            return float("inf")
        return time.clock_gettime(self._cpu_clock)

    def _is_user(self, code: CodeType) -> bool:
        filename = code.co_filename
        hit = self._user_files.get(filename)
        if hit is None:
            hit = self._user_files[filename] = self.user(filename)
        return hit

    def _place(self, f: FrameType) -> Place:
        code = f.f_code
        cid = id(code)
        if cid not in self._codes:
            self._codes[cid] = code
        return (cid, f.f_lasti)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._in_handler:  # a tick during the handler itself: the next sample charges its time
            return
        self._in_handler = True
        try:
            self._sample_signal(frame)
        finally:
            self._in_handler = False

    def _sample_signal(self, frame: FrameType | None) -> None:
        now = time.perf_counter()
        elapsed, cpu_elapsed = self._tick(now, time.thread_time())
        if frame is not None:
            self._charge_main(frame, elapsed, cpu_elapsed)
        # never take a threading lock here: the main thread may hold it when the signal arrives
        frames = sys._current_frames()
        if len(frames) > 1:
            self._charge_others(frames, elapsed, skip=(self._main_ident,))
        self.handler_seconds += time.perf_counter() - now

    def _tick(self, now: float, cpu: float) -> tuple[float, float]:
        """Count a sample; the wall and main-thread CPU seconds since the previous one."""
        elapsed, cpu_elapsed = now - self._last, cpu - self._last_cpu
        self._last, self._last_cpu = now, cpu
        self.samples += 1
        return elapsed, cpu_elapsed

    def _thread_loop(self) -> None:
        me = threading.get_ident()
        sleep = time.sleep
        while self._running:
            sleep(self.interval)
            now = time.perf_counter()
            elapsed, cpu_elapsed = self._tick(now, self._main_cpu())
            frames = sys._current_frames()
            main = frames.get(self._main_ident)  # type: ignore[arg-type]
            if main is not None:
                self._charge_main(main, elapsed, cpu_elapsed)
            if len(frames) > 2:
                self._charge_others(frames, elapsed, skip=(self._main_ident, me))
            self.handler_seconds += time.perf_counter() - now

    def _charge_main(self, frame: FrameType, elapsed: float, cpu_elapsed: float) -> None:
        is_user = self._is_user
        f: FrameType | None = frame
        while f is not None and not is_user(f.f_code):
            f = f.f_back
        if f is None:
            self.other_seconds += elapsed
            return
        place = self._place(f)
        acc = self._own.get(place)
        if acc is None:
            acc = self._own[place] = [0.0, 0.0]
        acc[0] += elapsed
        excess = elapsed - self.interval
        if excess > 0:
            cpu_excess = cpu_elapsed - self.interval
            if cpu_excess > 0:
                acc[1] += excess if excess < cpu_excess else cpu_excess
        # the outer frames of the user's code: their lines wait for a callee of the user's own (a call
        # line's cost with its callees is its own seconds plus these); with the stack for speedscope
        stack = [place] if self.keep_stacks else None
        under = self._under
        seen = [place]
        f = f.f_back
        while f is not None:
            if is_user(f.f_code):
                outer = self._place(f)
                if outer not in seen:  # recursion: a place counts once per sample
                    seen.append(outer)
                    under[outer] = under.get(outer, 0.0) + elapsed
                if stack is not None:
                    stack.append(outer)
            f = f.f_back
        if stack is not None:
            tkey = tuple(stack)
            self._stacks[tkey] = self._stacks.get(tkey, 0.0) + elapsed

    def _charge_others(self, frames: dict[int, FrameType], elapsed: float, skip: tuple[int | None, ...]) -> None:
        is_user = self._is_user
        for ident, frame in frames.items():
            if ident in skip:
                continue
            entry = self._thread_places.get(ident)
            if entry is None:
                entry = self._thread_places[ident] = [0.0, {}]
            if ident not in self.thread_names:
                self._name_thread(ident)
            entry[0] += elapsed
            f: FrameType | None = frame
            while f is not None and not is_user(f.f_code):
                f = f.f_back
            if f is None:
                continue
            place = self._place(f)
            entry[1][place] = entry[1].get(place, 0.0) + elapsed

    # -- after the run ---------------------------------------------------------------------------
    def resolve(self) -> None:
        """Turn the recorded places into files and lines (``lines``, ``under``, ``threads``, ``stacks``)."""
        table: dict[int, list[tuple[int, int, int | None]]] = {}

        def where(place: Place) -> tuple[str, int, str, str]:
            cid, lasti = place
            code = self._codes[cid]
            ranges = table.get(cid)
            if ranges is None:
                ranges = table[cid] = sorted(code.co_lines())
            line = None
            i = bisect.bisect_right(ranges, (lasti, sys.maxsize, sys.maxsize)) - 1
            if i >= 0 and ranges[i][0] <= lasti < ranges[i][1]:
                line = ranges[i][2]
            qualname = code.co_qualname if hasattr(code, "co_qualname") else code.co_name
            return code.co_filename, line or code.co_firstlineno, qualname, code.co_name

        def merge(acc: LineAcc, place: Place, seconds: float, native: float = 0.0) -> None:
            filename, line, qualname, _name = where(place)
            got = acc.get((filename, line))
            if got is None:
                got = acc[(filename, line)] = [0.0, 0.0, qualname]
            got[0] += seconds
            got[1] += native

        self.lines, self.under, self.stacks, self.threads = {}, {}, {}, {}
        for place, (seconds, native) in self._own.items():
            merge(self.lines, place, seconds, native)
        for place, seconds in self._under.items():
            merge(self.under, place, seconds)
        for ident, (seconds, places) in self._thread_places.items():
            acc: LineAcc = {}
            for place, secs in places.items():
                merge(acc, place, secs)
            self.threads[ident] = [seconds, acc]
        for stack, seconds in self._stacks.items():
            key = tuple((w[0], w[3], w[1]) for w in map(where, stack))
            self.stacks[key] = self.stacks.get(key, 0.0) + seconds

    def _name_thread(self, ident: int) -> None:
        # threading.enumerate() takes a lock the interrupted main thread may hold: read the registry
        thread = getattr(threading, "_active", {}).get(ident)
        if thread is not None:  # a thread just started is not registered yet: try again next sample
            self.thread_names[ident] = thread.name

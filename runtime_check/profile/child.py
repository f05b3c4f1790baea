"""The process that runs the user's program under the sampler: ``python -m runtime_check.profile.child SPEC``.

SPEC is a JSON file written by the runner: ``{"mode": "script"|"module", "target", "argv", "cwd",
"interval_ms", "sampler", "include", "exclude", "output", "observe"}``. The program runs as
``__main__``; its exit code is passed on (SystemExit's code, 1 for an uncaught exception, whose
traceback is printed the way Python prints it). The raw result is always written to ``output``
(atomically), also when the runner stops the program with SIGINT after ``--duration``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import linecache
import os
import platform
import signal
import sys
import threading
import time
import traceback
import types
from typing import Any

from runtime_check.profile.model import LineStat, RawResult, ThreadStat, relative_path, write_json_atomic
from runtime_check.profile.sampler import LineAcc, Sampler, UserCode

_THIS_FILE = os.path.abspath(__file__)


class _Stopped(Exception):
    """The runner asked the program to stop (SIGINT after --duration)."""


def _exit_code(code: Any) -> int:
    """Python's mapping of ``SystemExit.code`` to a process exit status."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code % 256
    print(code, file=sys.stderr)
    return 1


def _print_exception(exc: BaseException) -> None:
    """Print the traceback without this module's frames, as ``python script.py`` would."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == _THIS_FILE:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
    sys.stderr.flush()


def _load_target(spec: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(path, source, globals) of the code to run as ``__main__``."""
    if spec["mode"] == "script":
        path = os.path.abspath(spec["target"])
        with open(path, "rb") as fh:
            raw = fh.read()
        source = raw.decode("utf-8") if not raw.startswith(b"\xef\xbb\xbf") else raw[3:].decode("utf-8")
        globs: dict[str, Any] = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__,
                                 "__package__": None, "__spec__": None, "__loader__": None,
                                 "__cached__": None, "__doc__": None}
        return path, source, globs
    name = spec["target"]
    mspec = importlib.util.find_spec(name)
    if mspec is None:
        raise ImportError(f"No module named {name}")
    if mspec.submodule_search_locations is not None:  # a package: run its __main__
        main_name = f"{name}.__main__"
        mspec = importlib.util.find_spec(main_name)
        if mspec is None:
            raise ImportError(f"No module named {main_name}; '{name}' is a package and cannot be directly executed")
    loader = mspec.loader
    if loader is None or not hasattr(loader, "get_source") or mspec.origin is None:
        raise ImportError(f"cannot read the source of module {name}")
    source = loader.get_source(mspec.name)
    if source is None:
        raise ImportError(f"no source for module {name}")
    path = os.path.abspath(mspec.origin)
    globs = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__,
             "__package__": mspec.parent, "__spec__": mspec, "__loader__": loader,
             "__cached__": None, "__doc__": None}
    return path, source, globs


def _lines(acc: LineAcc, cwd: str) -> list[LineStat]:
    out = []
    for (filename, line), (seconds, native, function) in acc.items():
        code = linecache.getline(filename, line).strip() if line else ""
        out.append(LineStat(relative_path(filename, cwd), line, seconds, native, function, code))
    out.sort(key=lambda s: -s.seconds)
    return out


def run(spec: dict[str, Any]) -> RawResult:
    cwd = os.path.abspath(spec.get("cwd") or os.getcwd())
    os.chdir(cwd)
    interval = float(spec.get("interval_ms", 5.0)) / 1000.0
    result = RawResult(command=list(spec.get("command", [])), python=platform.python_version(), cwd=cwd,
                       wall_seconds=0.0, samples=0, interval_ms=interval * 1000.0,
                       sampler=spec.get("sampler", "signal"), exit_code=0)
    stop_requested = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        stop_requested.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        path, source, globs = _load_target(spec)
    except (OSError, ImportError, UnicodeDecodeError, ValueError) as exc:
        print(f"pyfast-check profile: error: {spec.get('target')}: {exc}", file=sys.stderr)
        result.exit_code = 2
        result.error = f"cannot load {spec.get('target')}: {exc}"
        return result

    script_dir = os.path.dirname(path) if spec["mode"] == "script" else cwd
    sys.argv = [path, *spec.get("argv", [])]
    sys.path[0] = script_dir
    user = UserCode(roots=[cwd, script_dir], include=spec.get("include", []),
                    exclude=spec.get("exclude", []), cwd=cwd)
    sampler = Sampler(user, interval=interval, mode=result.sampler, keep_stacks=bool(spec.get("stacks", True)))

    observer: Any = None
    if spec.get("observe") is not None:
        observe: Any = None
        with contextlib.suppress(ImportError):
            from runtime_check.profile import observe
        if observe is not None and hasattr(observe, "start"):
            try:
                observer = observe.start(spec["observe"])
            except Exception as exc:  # a bad payload must not cost the profile
                print(f"pyfast-check profile: kinds not observed: {exc}", file=sys.stderr)

    main_module = types.ModuleType("__main__")
    main_module.__dict__.update(globs)
    saved_main = sys.modules.get("__main__")
    sys.modules["__main__"] = main_module
    started = time.perf_counter()
    try:
        if observer is not None and hasattr(observer, "compile"):
            code = observer.compile(path, source)
        else:
            code = compile(source, path, "exec", dont_inherit=True)
        sampler.start()
        try:
            exec(code, main_module.__dict__)
            # as the interpreter does at exit: wait for the program's non-daemon threads
            for t in threading.enumerate():
                if t is not threading.main_thread() and not t.daemon and t.is_alive():
                    t.join()
        finally:
            sampler.stop()
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    except SystemExit as exc:
        result.exit_code = _exit_code(exc.code)
    except KeyboardInterrupt as exc:
        if stop_requested.is_set():
            result.stopped = True
            result.exit_code = 0
        else:
            _print_exception(exc)
            result.exit_code = 130
    except BaseException as exc:  # the program's own error: report it as Python would, keep the profile
        _print_exception(exc)
        result.exit_code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sampler.stop()
        result.wall_seconds = time.perf_counter() - started
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
    if observer is not None and hasattr(observer, "finish"):
        try:
            result.observe = observer.finish()
        except Exception as exc:  # the observer must never cost the profile
            result.observe = {"errors": [f"observer failed: {exc!r}"]}
    try:
        _fill(result, sampler, cwd)
    except Exception as exc:  # report what the program did even if the samples cannot be written up
        result.error = f"the samples could not be summarised: {exc!r}"
    return result


def _fill(result: RawResult, sampler: Sampler, cwd: str) -> None:
    result.samples = sampler.samples
    result.handler_seconds = sampler.handler_seconds
    result.lines = _lines(sampler.lines, cwd)
    result.under = _lines(sampler.under, cwd)
    result.other_seconds = sampler.other_seconds
    result.threads = sorted(
        (ThreadStat(sampler.thread_names.get(ident, f"thread-{ident}"), ident, seconds, _lines(acc, cwd))
         for ident, (seconds, acc) in sampler.threads.items()),
        key=lambda t: -t.seconds)
    index: dict[tuple[str, str, int], int] = {}
    for stack, seconds in sampler.stacks.items():
        ids = []
        for filename, function, line in reversed(stack):  # outermost first
            key = (filename, function, line)
            if key not in index:
                index[key] = len(result.frames)
                result.frames.append([function, relative_path(filename, cwd), line])
            ids.append(index[key])
        result.stacks.append([ids, seconds])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m runtime_check.profile.child SPEC.json", file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as fh:
            spec = json.load(fh)
    except (OSError, ValueError) as exc:
        print(f"pyfast-check profile: error: {args[0]}: cannot read the run's spec: {exc}", file=sys.stderr)
        return 2
    result = run(spec)
    try:
        write_json_atomic(spec["output"], result.to_json())
    except OSError as exc:
        print(f"pyfast-check profile: error: {spec['output']}: cannot write the profile: {exc}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    if result.stopped:  # threads of a stopped program may never end: do not wait for them
        os._exit(result.exit_code)
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())

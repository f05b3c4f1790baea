"""Run a workload variant (or a case) in a fresh process and bring back its timings and trace.

Children are forked from a ``forkserver`` that has already imported NumPy, PyTorch and PyBullet,
so a run costs the workload's own time plus a fork, not a 2-second ``import torch``. The server
has run no torch operation, so forking it is safe. Each child gets the same seed and thread count.
"""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

# torch.optim imports torch._dynamo on first use: 2.5 s per child unless the server has it
PRELOAD = ["numpy", "torch", "torch._dynamo", "torch.optim", "pybullet", "pybullet_data", "runtime_check.recorder"]
_CONTEXT: Any = None


def _context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _CONTEXT = ctx
    return _CONTEXT


class ChildError(RuntimeError):
    """The child process raised; the message carries its traceback."""


Result = dict[str, Any]


def run_pair(first: dict[str, Any], second: dict[str, Any], timeout: float = 600.0) -> tuple[Result, Result]:
    """Run two workloads in two processes whose epochs alternate: first, second, first, second, ...

    Only one process runs an epoch at a time; set-up and the rest overlap, so the warm-up epochs
    (excluded) absorb the other process's start.
    """
    ctx = _context()
    turn_a, turn_b = ctx.Semaphore(1), ctx.Semaphore(0)
    children = [
        _spawn("run_workload_gated", {**payload, "gate": (mine, theirs)})
        for payload, mine, theirs in ((first, turn_a, turn_b), (second, turn_b, turn_a))
    ]
    try:
        first_result, second_result = (_receive(proc, pipe, timeout, "a paired run") for proc, pipe in children)
    finally:
        for proc, pipe in children:
            _close(proc, pipe)
    return first_result, second_result


def run_child(target: str, payload: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
    """Call ``runtime_check.runner.<target>(payload)`` in a fresh process and return its result."""
    proc, pipe = _spawn(target, payload)
    try:
        return _receive(proc, pipe, timeout, target)
    finally:
        _close(proc, pipe)


def _spawn(target: str, payload: dict[str, Any]) -> tuple[Any, Connection]:
    """Start a child that runs ``target(payload)``; the pipe brings back ``(ok, result)``."""
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(child, target, payload))
    proc.start()
    child.close()
    return proc, parent


def _receive(proc: Any, pipe: Connection, timeout: float, what: str) -> Result:
    if not pipe.poll(timeout):
        raise ChildError(f"{what} did not finish within {timeout:.0f} s")
    try:
        ok, result = pipe.recv()
    except EOFError:
        proc.join()
        raise ChildError(f"{what} died (exit code {proc.exitcode})") from None
    if not ok:
        raise ChildError(result)
    return result  # type: ignore[no-any-return]


def _close(proc: Any, pipe: Connection) -> None:
    pipe.close()
    if proc.is_alive():
        proc.kill()
    proc.join(timeout=10)


def _child_main(conn: Connection, target: str, payload: dict[str, Any]) -> None:
    try:
        result = globals()[target](payload)
        conn.send((True, result))
    except BaseException:
        conn.send((False, traceback.format_exc()))
    finally:
        conn.close()


def load_module(path: str, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# -- what children run ----------------------------------------------------------------------------

def run_workload(payload: dict[str, Any]) -> dict[str, Any]:
    """Import a (possibly fixed) workload source and run it; save the trace next to it."""
    module = load_module(payload["path"], payload["module"])
    cfg = module.Config(**payload["config"])
    result = module.run(cfg)
    if payload.get("trace_path"):
        save_trace(result["trace"], Path(payload["trace_path"]))
    return {"epochs": result["epochs"], "warmup": result["warmup"]}


def run_workload_gated(payload: dict[str, Any]) -> dict[str, Any]:
    from runtime_check import recorder

    mine, theirs = payload.pop("gate")
    recorder.GATE = recorder.Gate(mine, theirs)
    try:
        return run_workload(payload)
    finally:
        recorder.GATE.done()  # never leave the other process waiting (e.g. after an exception)
        recorder.GATE = None


def run_case(payload: dict[str, Any]) -> dict[str, Any]:
    """Time a case's slow and fast versions, interleaved, and compare their results."""
    import time

    import torch

    torch.set_num_threads(payload["threads"])
    np.random.seed(payload["seed"])
    torch.manual_seed(payload["seed"])
    module = load_module(payload["path"], payload["module"])
    state = module.setup(payload["seed"])
    reps = payload["reps"]
    clock = time.process_time if payload.get("clock", "wall") == "cpu" else time.perf_counter
    slow, fast = module.slow, module.fast
    slow(state)  # warm-up
    fast(state)
    rounds = []
    for _ in range(payload["rounds"]):
        t0 = clock()
        for _ in range(reps):
            slow(state)
        t1 = clock()
        for _ in range(reps):
            fast(state)
        t2 = clock()
        rounds.append(((t1 - t0) / reps, (t2 - t1) / reps))
    torch.manual_seed(payload["seed"])
    a = slow(state)
    torch.manual_seed(payload["seed"])
    b = fast(state)
    equal, how = module.equivalent(a, b)
    if hasattr(module, "teardown"):
        module.teardown(state)
    return {"rounds": rounds, "equivalent": bool(equal), "how": how}


def probe_environment(payload: dict[str, Any]) -> dict[str, Any]:
    import os
    import platform

    import pybullet
    import torch

    device = payload["device"]
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"--device {device}: torch {torch.__version__} sees no CUDA device here")
    from runtime_check.doctor import cpu_model

    gpu = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else None
    return {
        "device": device if gpu is None else f"{device} ({gpu})",
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": payload["threads"],
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "pybullet": str(getattr(pybullet, "__version__", "3.x")),
    }


# -- traces -----------------------------------------------------------------------------------------

def save_trace(trace: dict[str, list[Any]], path: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    for key, items in trace.items():
        if key == "minibatch_indices":
            arrays["minibatch_indices"] = np.array(items, dtype=np.int64)
            continue
        for i, item in enumerate(items):
            arrays[f"{key}/{i}"] = np.asarray(item)
    np.savez(path, **arrays)  # type: ignore[arg-type]


def load_trace(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}

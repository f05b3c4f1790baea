"""``pyfast-check doctor``: the two principles that are not code (machine settings, Python build).

Each item says what was found, whether it is the fast choice, and what to do. Works without root
and on machines without ``/sys/devices/system/cpu/*/cpufreq`` (VMs, containers): it says so.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

CPU_ROOT = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class Item:
    topic: str
    found: str
    fast: bool | None  # None: cannot tell
    advice: str


def check_governor(cpu_root: Path = CPU_ROOT) -> Item:
    files = sorted(cpu_root.glob("cpu[0-9]*/cpufreq/scaling_governor"))
    if not files:
        return Item("CPU frequency governor", f"not exposed ({cpu_root}/cpu*/cpufreq is missing: a VM or container?)",
                    None, "Nothing to set from here; on bare metal, check the BIOS power profile.")
    govs: dict[str, list[str]] = {}
    for f in files:
        try:
            gov = f.read_text().strip()
        except OSError:
            gov = "unreadable"
        govs.setdefault(gov, []).append(f.parent.parent.name)
    found = ", ".join(f"{g} ({len(cpus)} cores)" for g, cpus in sorted(govs.items()))
    fast = set(govs) == {"performance"}
    advice = "Good." if fast else (
        "Set it for benchmarks and long runs: `sudo cpupower frequency-set -g performance` (or "
        "`echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor`)."
    )
    return Item("CPU frequency governor", found, fast, advice)


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux, ``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def check_cpu() -> Item:
    return Item("CPU", f"{cpu_model()}, {os.cpu_count()} logical cores", None,
                "Pin long runs to physical cores (`taskset`) and keep other work off them while measuring.")


def python_distribution(executable: str = sys.executable, version: str = sys.version, prefix: str = sys.prefix) -> str:
    exe = executable.replace("\\", "/")
    if "conda-forge" in version or (Path(prefix) / "conda-meta").exists():
        return "conda-forge" if "conda-forge" in version else "conda"
    if "/.pyenv/" in exe:
        return "pyenv"
    if "/uv/python/" in exe or "/.local/share/uv/" in exe:
        return "uv (python-build-standalone)"
    if exe.startswith(("/usr/bin/", "/bin/")):
        return "system"
    if "/opt/homebrew/" in exe or "/usr/local/Cellar/" in exe:
        return "Homebrew"
    return "unknown"


def check_python(config_args: str | None = None) -> Item:
    args = sysconfig.get_config_var("CONFIG_ARGS") if config_args is None else config_args
    args = args or ""
    pgo = "--enable-optimizations" in args
    lto = "--with-lto" in args
    impl = platform.python_implementation()
    ver = platform.python_version()
    dist = python_distribution()
    gil = "free-threaded" if sysconfig.get_config_var("Py_GIL_DISABLED") else "with GIL"
    found = f"{impl} {ver} ({gil}) from {dist}; PGO {'on' if pgo else 'off'}, LTO {'on' if lto else 'off'}"
    fast = impl == "CPython" and pgo and lto and sys.version_info >= (3, 11)
    if fast:
        advice = "Good: an optimised build of a recent CPython."
    else:
        tips = []
        if sys.version_info < (3, 11):
            tips.append("CPython 3.11+ runs pure-Python loops 10-60% faster")
        if not (pgo and lto):
            tips.append("prefer a PGO+LTO build (python.org, conda-forge and uv's builds have them; "
                        "pyenv: `PYTHON_CONFIGURE_OPTS='--enable-optimizations --with-lto' pyenv install`)")
        advice = "; ".join(tips) + "."
    return Item("Python build", found, fast, advice)


def check_numpy() -> Item:
    try:
        import numpy as np
    except ImportError:
        return Item("NumPy", "not installed", None, "Install the harness extra: pip install 'pyfast[harness]'.")
    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")  # type: ignore[call-arg,func-returns-value]
        info = (cfg or {}).get("Build Dependencies", {}).get("blas", {})
        blas = f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        pass
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
               if k in os.environ}
    found = f"{np.__version__}, BLAS {blas}, thread variables: {threads or 'unset'}"
    slow_blas = bool(re.search(r"\b(blas|reference|cblas)\b", blas.lower())) and "openblas" not in blas.lower()
    advice = ("Small RL arrays gain nothing from BLAS threads; for many environment processes set "
              "OMP_NUM_THREADS=1 to avoid oversubscription.")
    if slow_blas:
        advice = "A reference BLAS is slow: install NumPy wheels (OpenBLAS) or MKL. " + advice
    return Item("NumPy", found, False if slow_blas else None, advice)


def check_torch() -> Item:
    try:
        import torch
    except ImportError:
        return Item("PyTorch", "not installed", None, "Install the harness extra: pip install 'pyfast[harness]'.")
    cuda = torch.cuda.is_available()
    devices = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if cuda else "none"
    found = (f"{torch.__version__}, {torch.get_num_threads()} intra-op threads, CUDA "
             f"{'available: ' + devices if cuda else 'not available'}")
    advice = ("For small policies stepping one env, `torch.set_num_threads(1)` often beats the default; "
              "measure with `pyfast-check --threads N`.")
    if not cuda:
        advice += " No GPU: PYF205/PYF301 gains (transfers, syncs) cannot show here."
    return Item("PyTorch", found, None, advice)


def run_doctor() -> list[Item]:
    return [check_governor(), check_cpu(), check_python(), check_numpy(), check_torch()]


def format_items(items: list[Item]) -> str:
    marks = {True: "ok  ", False: "SLOW", None: "info"}
    lines = []
    for item in items:
        lines.append(f"[{marks[item.fast]}] {item.topic}: {item.found}")
        lines.append(f"       {item.advice}")
    return "\n".join(lines)

"""Real RL code for benchmarks and crash tests, downloaded from the package index into a cache.

stable-baselines3 2.9.2, cleanrl 0.4.8 and panda-gym 3.0.7 are fetched once with
``pip download --no-deps`` into ``$PYFAST_CORPUS`` (default ``~/.cache/pyfast-corpus``) and
unpacked there. Nothing is copied into the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

PACKAGES = {
    "stable-baselines3==2.9.2": "stable_baselines3",
    "cleanrl==0.4.8": "cleanrl",
    "panda-gym==3.0.7": "panda_gym",
}


#: the environment for timed subprocesses. An installed package has bytecode; an editable checkout
#: under PYTHONDONTWRITEBYTECODE=1 would be recompiled in every run and measure the compiler, not
#: pyfast. The benchmarks' warm-up runs write it.
BENCH_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class CorpusUnavailable(RuntimeError):
    """The package index could not be reached and nothing is cached."""


def cache_dir() -> Path:
    return Path(os.environ.get("PYFAST_CORPUS", Path.home() / ".cache" / "pyfast-corpus"))


def corpus(names: tuple[str, ...] = tuple(PACKAGES)) -> dict[str, Path]:
    """Unpacked source folders of the requested packages, downloading what is missing."""
    root = cache_dir()
    downloads = root / "downloads"
    out: dict[str, Path] = {}
    for spec in names:
        package = PACKAGES[spec]
        target = root / spec.replace("==", "-")
        done = target / ".unpacked"
        if not done.exists():
            downloads.mkdir(parents=True, exist_ok=True)
            name = spec.split("==")[0].replace("-", "_")
            archives = [p for p in downloads.iterdir() if p.name.lower().startswith(name.lower())]
            if not archives:
                proc = subprocess.run(
                    [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", spec, "-d", str(downloads)],
                    capture_output=True, text=True, check=False,
                )
                archives = [p for p in downloads.iterdir() if p.name.lower().startswith(name.lower())]
                if proc.returncode != 0 or not archives:
                    raise CorpusUnavailable(f"could not download {spec}: {proc.stderr.strip()[-300:]}")
            _unpack(archives[0], target)
            done.touch()
        found = sorted(target.rglob(package))
        dirs = [p for p in found if p.is_dir() and any(p.glob("*.py"))]
        out[spec] = dirs[0] if dirs else target
    return out


def _unpack(archive: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(target)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(target, filter="data")


def python_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*.py") if p.is_file())

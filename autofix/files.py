"""Finding files, reading them faithfully, and writing them back atomically.

A source file is decoded the way Python itself decodes it (BOM, then ``# -*- coding: ... -*-``,
then UTF-8) and written back in the same encoding, with the BOM if it had one; libcst keeps the
newline style line by line. Writes go to a temporary file in the same folder, get the original's
permission bits, are flushed to disk and then renamed over the original, so a crash leaves either
the old file or the new one, never half of each. A file that changed on disk since it was read is
not overwritten.
"""

from __future__ import annotations

import codecs
import contextlib
import fnmatch
import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

#: folders never searched (explicitly named files are always processed)
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", "__pycache__", ".venv", "venv", ".env", ".tox", ".nox",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "build", "dist", "node_modules",
    "site-packages", "__pypackages__", ".eggs",
})


class FileError(Exception):
    """A file that cannot be processed: the message names the reason."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    text: str
    encoding: str
    bom: bool
    raw: bytes

    def encode(self, text: str) -> bytes:
        data = text.encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.bom else data


def read_source(path: Path) -> SourceFile:
    try:
        if path.is_dir():
            raise FileError("is a directory")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileError("no such file (deleted while pyfast was running?)") from None
    except IsADirectoryError:
        raise FileError("is a directory") from None
    except PermissionError:
        raise FileError("permission denied (cannot read)") from None
    except OSError as exc:
        raise FileError(f"cannot read: {exc.strerror or exc}") from None
    return decode(raw, path)


def decode(raw: bytes, path: Path | str = "<stdin>") -> SourceFile:
    if b"\x00" in raw:
        raise FileError("looks binary (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        if "invalid or missing encoding declaration" in str(exc):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise FileError(f"not valid UTF-8 at byte {bad.start}, and no `# -*- coding: ... -*-` line "
                                "says otherwise") from None
        raise FileError(f"bad encoding declaration: {exc}") from None
    bom = raw.startswith(codecs.BOM_UTF8)
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    body = raw[len(codecs.BOM_UTF8):] if bom else raw
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-8":
            raise FileError(f"not valid UTF-8 at byte {exc.start}, and no `# -*- coding: ... -*-` line says "
                            "otherwise") from None
        raise FileError(f"not valid {encoding} (as its coding line declares) at byte {exc.start}") from None
    except LookupError:
        raise FileError(f"unknown encoding {encoding!r} in the coding declaration") from None
    return SourceFile(Path(path), text, encoding, bom, raw)


def write_atomic(src: SourceFile, text: str) -> None:
    """Replace ``src.path`` with ``text``; refuse if the file changed since it was read.

    A symlink is written through: its target is replaced and the link stays a link (renaming
    over the link itself would turn it into a copy).
    """
    path = src.path.resolve()
    data = src.encode(text)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileError("deleted before the fix could be written") from None
    if not os.access(path, os.W_OK) or not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise FileError("read-only: not changed")  # mode bits count even for root, who may write anyway
    if path.read_bytes() != src.raw:
        raise FileError("changed on disk while pyfast was running: not overwritten")
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".pyfast-tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _excluded(path: Path, root: Path, patterns: Sequence[str]) -> bool:
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.as_posix()
    for pattern in patterns:
        pat = pattern.rstrip("/")
        if fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(path.name, pat) or rel.startswith(pat + "/"):
            return True
        if fnmatch.fnmatch(rel, pat + "/*") or any(fnmatch.fnmatch(part, pat) for part in Path(rel).parts):
            return True
    return False


@dataclass(frozen=True)
class Discovered:
    path: Path
    note: str = ""  # why it was skipped, for paths the user named explicitly


def discover(paths: Iterable[str], root: Path, exclude: Sequence[str] = ()) -> Iterator[Discovered]:
    """Python files under ``paths``: each real file once; symlinks out of the tree are reported."""
    seen: set[Path] = set()
    root_real = root.resolve()
    for raw in paths:
        p = Path(raw)
        if not p.exists() and not p.is_symlink():
            yield Discovered(p, "no such file or directory")
            continue
        if p.is_dir() and not p.is_symlink():
            yield from _walk(p, root, root_real, exclude, seen)
            continue
        # named explicitly: processed even if excluded or not ending in .py
        yield from _one(p, root_real, seen, explicit=True)


def _walk(top: Path, root: Path, root_real: Path, exclude: Sequence[str], seen: set[Path]) -> Iterator[Discovered]:
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        d = Path(dirpath)
        dirnames[:] = sorted(
            n for n in dirnames
            if n not in SKIP_DIRS and not n.endswith(".egg-info") and not _excluded(d / n, root, exclude)
            and not (d / n).is_symlink()
        )
        for name in sorted(filenames):
            if not (name.endswith(".py") or name.endswith(".pyi")):
                continue
            path = d / name
            if _excluded(path, root, exclude):
                continue
            yield from _one(path, root_real, seen, explicit=False)


def _one(path: Path, root_real: Path, seen: set[Path], explicit: bool) -> Iterator[Discovered]:
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        yield Discovered(path, "broken symlink or symlink loop")
        return
    if path.is_symlink() and not _inside(real, root_real):
        yield Discovered(path, f"symlink to {real}, outside the project: not followed")
        return
    if real in seen:
        return
    seen.add(real)
    yield Discovered(path)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False

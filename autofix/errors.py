"""The two ways fixing a file can fail (re-exported by :mod:`autofix.engine`)."""

from __future__ import annotations


class FixError(Exception):
    """A fix could not be applied safely; the file is left as it was."""


class SourceError(Exception):
    """The source cannot be parsed (by ``ast`` or by libcst)."""

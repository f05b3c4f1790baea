"""What the analysis is told by the user's configuration (one value shared by every front end)."""

from __future__ import annotations

from dataclasses import dataclass

from flake8_pyfast.analysis.heat import DEFAULT_COLD_FUNCTIONS, DEFAULT_HOT_FUNCTIONS


@dataclass(frozen=True)
class Settings:
    #: fnmatch patterns of per-step function names (the whole list: defaults already resolved)
    hot_functions: tuple[str, ...] = DEFAULT_HOT_FUNCTIONS
    #: fnmatch patterns of set-up function names (the whole list)
    cold_functions: tuple[str, ...] = DEFAULT_COLD_FUNCTIONS
    #: where the code runs: "cpu", "gpu", or "auto" (a module that mentions CUDA/MPS or is written
    #: for a device it is given may run on an accelerator); decides GPU-only findings
    target: str = "auto"
    #: read ``.pyfast/profile.json`` (a ``pyfast-check profile`` run) when there is one
    profile: bool = True


TARGETS = ("auto", "cpu", "gpu")
DEFAULT_SETTINGS = Settings()

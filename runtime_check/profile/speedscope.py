"""Write a profile in speedscope's JSON format (https://www.speedscope.app/file-format-schema.json).

One "sampled" profile for the main thread: each distinct stack of the user's frames is one sample
whose weight is the seconds charged to it. Frames are (function, file, line): a flame graph per line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime_check.profile.model import RawResult, write_json_atomic

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"


def to_speedscope(raw: RawResult, name: str | None = None) -> dict[str, Any]:
    frames = [{"name": f"{function} ({path}:{line})", "file": path, "line": line}
              for function, path, line in raw.frames]
    samples: list[list[int]] = []
    weights: list[float] = []
    for ids, seconds in sorted(raw.stacks, key=lambda s: -s[1]):
        samples.append(list(ids))
        weights.append(float(seconds))
    title = name or " ".join(raw.command) or "profile"
    profile = {"type": "sampled", "name": f"{title} (main thread)", "unit": "seconds",
               "startValue": 0.0, "endValue": float(sum(weights)), "samples": samples, "weights": weights}
    return {"$schema": SCHEMA_URL, "shared": {"frames": frames}, "profiles": [profile], "name": title,
            "activeProfileIndex": 0, "exporter": "pyfast-check profile"}


def write_speedscope(raw: RawResult, path: Path) -> None:
    write_json_atomic(path, to_speedscope(raw))

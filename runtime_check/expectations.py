"""What each rule's variant may change, and where in the workload its time goes.

Equivalence is checked in the strictest mode first. A variant passes in ``exact`` mode when every
recorded array is bit-identical; ``tolerance`` (``RTOL``/``ATOL``) is allowed only where the fix
is documented to round differently; ``invariants`` only where the fix changes how the random
stream is consumed (the first rollout, collected before any update, unchanged within tolerance;
each sample visited once per update epoch; the same minibatch sizes; finite results).
Anything else is ``changes results``.
"""

from __future__ import annotations

RTOL = 1e-3
ATOL = 1e-5

#: rule -> comparison modes its fix may need, in the order they are tried
EQUIVALENCE: dict[str, tuple[str, ...]] = {
    "PYF101": ("exact", "tolerance"),  # math.hypot rounds differently from np.linalg.norm
    "PYF102": ("exact",),
    "PYF204": ("exact", "tolerance"),  # lerp_ and chained in-place ops round differently
    "PYF205": ("exact", "invariants"),  # random factories on a GPU draw from the device's generator
    "PYF206": ("exact",),
    "PYF301": ("exact",),
    "PYF401": ("exact", "invariants"),  # randperm().split() may consume the RNG differently
    "all": ("exact", "tolerance", "invariants"),
}

#: rule -> the recorded phase its fix works in (the per-rule speedup is measured there)
PHASE: dict[str, str] = {
    "PYF101": "simulation",  # the reward helper runs inside env.step
    "PYF102": "simulation",
    "PYF103": "simulation",
    "PYF201": "simulation",
    "PYF202": "simulation",
    "PYF203": "conversion",
    "PYF204": "update",
    "PYF205": "conversion",
    "PYF206": "update",
    "PYF301": "update",
    "PYF401": "update",
    "PYF402": "update",
}

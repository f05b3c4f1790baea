"""How results are compared: tolerances, and what the run with every fix applied may change.

Equivalence is checked in the strictest mode first, in the modes a rule's ``equivalence`` lists
(:mod:`flake8_pyfast.rule`). A variant passes in ``exact`` mode when every
recorded array is bit-identical; ``tolerance`` (``RTOL``/``ATOL``) is allowed only where the fix
is documented to round differently; ``invariants`` only where the fix changes how the random
stream is consumed (the first rollout, collected before any update, unchanged within tolerance;
each sample visited once per update epoch; the same minibatch sizes; finite results).
Anything else is ``changes results``.
"""

from __future__ import annotations

RTOL = 1e-3
ATOL = 1e-5

#: the comparison modes of the run with every fix applied (and of the A/A control). Each rule's own
#: modes and the workload phase its fix works in are the rule's ``equivalence`` and ``harness_phase``.
ALL_FIXES: tuple[str, ...] = ("exact", "tolerance", "invariants")

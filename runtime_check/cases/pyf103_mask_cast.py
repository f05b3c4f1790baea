"""PYF103: float64 actions times a bool joint mask every step, versus a float mask cast once."""

import numpy as np

CODE = "PYF103"
REPS = 50


def setup(seed):
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1.0, 1.0, size=(256, 7))
    mask = np.ones(7) > 0
    return {"actions": list(actions), "mask": mask, "float_mask": mask.astype(actions.dtype)}


def slow(state):
    mask = state["mask"]
    return [np.clip(a, -1.0, 1.0) * mask for a in state["actions"]]


def fast(state):
    mask = state["float_mask"]
    return [np.clip(a, -1.0, 1.0) * mask for a in state["actions"]]


def equivalent(a, b):
    return all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b)), "exact"

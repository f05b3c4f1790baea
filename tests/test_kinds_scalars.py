"""Kinds that decide PYF101 on real code: NumPy scalars from elements and reductions, and the
look-alikes that are arrays (rows of 2-d arrays, unknown ranks, tensors, fancy indexing)."""

from __future__ import annotations

import ast
import textwrap

import pytest

from flake8_pyfast.analysis import Analysis
from flake8_pyfast.checker import Settings


def kind_at(src: str, text: str) -> tuple[str, str | None, int | None]:
    """(base, dtype, ndim) of the last expression spelled ``text`` in ``src``."""
    tree = ast.parse(textwrap.dedent(src))
    an = Analysis(tree, Settings(), frozenset({ast.Call}))
    hits = [n for n in ast.walk(tree) if isinstance(n, ast.expr) and ast.unparse(n) == text]
    assert hits, f"{text!r} not found"
    node = max(hits, key=lambda n: (n.lineno, n.col_offset))
    k = an.kind(node)
    return k.base, k.dtype, k.ndim


CLASS_CONSTANT = """
import numpy as np

class Pole:
    LENGTH = 0.6
    STEPS = 4
    GAIN = 0.5
    SHAPE = np.ones(3)

    def __init__(self):
        self.GAIN = np.ones(2)

    def step(self, ob):
        k = Pole.LENGTH
        return k, self.STEPS, self.GAIN, Pole.SHAPE, Pole.MISSING
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("k", ("scalar", "float", None)),
    ("self.STEPS", ("scalar", "int", None)),
    ("self.GAIN", ("ndarray", "float64", 1)),  # a method assigns it an array: not the class literal
    ("Pole.SHAPE", ("unknown", None, None)),  # not a literal number
    ("Pole.MISSING", ("unknown", None, None)),
])
def test_class_constants(text: str, expected: tuple[str, str | None, int | None]) -> None:
    assert kind_at(CLASS_CONSTANT, text) == expected


def test_a_numpy_scalar_cast_with_astype_stays_a_numpy_scalar() -> None:
    src = """
    import numpy as np

    class Planner:
        def __init__(self, n: int, ratio: float):
            self.elite = np.ceil(n * ratio).astype(np.int32)
            self.rows = np.ceil(np.ones(3) * ratio).astype(np.int32)

        def plan(self):
            return self.elite, self.rows
    """
    assert kind_at(src, "self.elite") == ("scalar", "np.int32", None)
    assert kind_at(src, "self.rows")[0] == "ndarray"


RESHAPE = """
import numpy as np

def control(state, gain, w):
    x = np.hstack(state).reshape(12, 1)
    col = np.ones(12).reshape((3, -1))
    flat = np.ones((3, 4)).reshape(-1)
    some = np.ones(12).reshape(w)
    m = np.eye(4)
    v = np.ones(4)
    return x, col, flat, some, m @ v, v @ v, m @ m, v @ m, gain @ v, flat[0], (m @ v)[0], (m @ m)[0]
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("x", ("ndarray", None, 2)),
    ("col", ("ndarray", "float64", 2)),
    ("flat", ("ndarray", "float64", 1)),
    ("some", ("ndarray", "float64", None)),  # the shape is not known
    ("m @ v", ("ndarray", "float64", 1)),
    ("v @ v", ("scalar", "np.float64", None)),
    ("m @ m", ("ndarray", "float64", 2)),
    ("v @ m", ("ndarray", "float64", 1)),
    ("gain @ v", ("ndarray", None, None)),  # the rank of an unknown operand is unknown
    ("flat[0]", ("scalar", "np.float64", None)),
    ("(m @ v)[0]", ("scalar", "np.float64", None)),
    ("(m @ m)[0]", ("ndarray", "float64", 1)),  # a row
])
def test_reshape_and_matmul_ranks(text: str, expected: tuple[str, str | None, int | None]) -> None:
    assert kind_at(RESHAPE, text) == expected


RETURNS = """
import numpy as np

def obs(a, b):
    return np.concatenate([a, b]).ravel()

def maybe(a, flag):
    if flag:
        return np.zeros(3)
    return None

def falls_off(a):
    if a:
        return np.zeros(3)

def gen(n):
    for i in range(n):
        yield np.zeros(3)
    return np.zeros(3)

def rows():
    return np.zeros((4, 3))

def fact(n):
    if n <= 1:
        return 1.0
    return n * fact(n - 1)

def use(a, b, n):
    o = obs(a, b)
    return o, o[1], maybe(a, 1), falls_off(a), gen(n), rows()[0], rows()[0, 1], fact(n)
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("o", ("ndarray", None, 1)),
    ("o[1]", ("scalar", "np.number", None)),
    ("maybe(a, 1)", ("unknown", None, None)),  # an array or None
    ("falls_off(a)", ("unknown", None, None)),  # may return None by falling off the end
    ("gen(n)", ("unknown", None, None)),  # a generator
    ("rows()[0]", ("ndarray", "float64", 1)),
    ("rows()[0, 1]", ("scalar", "np.float64", None)),
])
def test_module_function_returns(text: str, expected: tuple[str, str | None, int | None]) -> None:
    assert kind_at(RETURNS, text) == expected


def test_recursive_function_return_is_solved_or_unknown() -> None:
    assert kind_at(RETURNS, "fact(n)")[0] in ("scalar", "unknown")


def test_decorated_functions_keep_their_secret() -> None:
    src = """
    import functools
    import numpy as np

    @functools.lru_cache
    def table():
        return np.zeros(3)

    def use():
        return table()
    """
    assert kind_at(src, "table()") == ("unknown", None, None)


def test_items_unpacked_from_a_list_comprehension() -> None:
    src = """
    import numpy as np

    def schedule(text, rows):
        init, final, duration = [float(g) for g in text.split(",")]
        a, b = [np.zeros(3) for _ in range(2)]
        c, d = [r for r in rows]
        return duration, a, c
    """
    assert kind_at(src, "duration") == ("scalar", "float", None)
    assert kind_at(src, "a") == ("ndarray", "float64", 1)
    assert kind_at(src, "c") == ("unknown", None, None)


@pytest.mark.parametrize(("text", "expected"), [
    ("np.int32(np.floor(pts[:, 0] / 0.1))", ("ndarray", "int32", 1)),
    ("np.float32(2.0)", ("scalar", "np.float32", None)),
    ("np.float32(x[0])", ("scalar", "np.float32", None)),
    ("np.float64(reward)", ("unknown", None, None)),  # may be an array
])
def test_numpy_scalar_types_called_on_arrays_give_arrays(
    text: str, expected: tuple[str, str | None, int | None],
) -> None:
    src = f"""
    import numpy as np

    def heightmap(reward):
        pts = np.zeros((100, 3))
        x = np.ones(3)
        return {text}
    """
    assert kind_at(src, text) == expected

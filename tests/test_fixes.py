"""Each rule's fix, from its own examples: exact text, idempotence, safety, same results."""

from __future__ import annotations

import ast
import importlib.util
import math
from collections import Counter

import pytest

from autofix.engine import FixError, fix_source
from autofix.selection import Selection


def test_fix_produces_the_documented_text(fix_case):
    ex = fix_case.example
    assert fix_source(ex.code, unsafe=ex.unsafe).fixed == ex.fixed


def test_second_run_changes_nothing(fix_case):
    fixed = fix_case.example.fixed
    assert fix_source(fixed, unsafe=True).fixed == fixed


def test_unsafe_fixes_need_asking(fix_case):
    ex = fix_case.example
    safe_only = fix_source(ex.code, unsafe=False).fixed
    if ex.unsafe:
        assert safe_only != ex.fixed, "marked unsafe, but the safe-only run already produces it"
    else:
        assert safe_only == ex.fixed


def _pyflakes(source: str) -> Counter[tuple[str, tuple[object, ...]]]:
    from pyflakes.checker import Checker

    return Counter((type(m).__name__, m.message_args) for m in Checker(ast.parse(source)).messages)


def test_fixed_code_has_no_new_pyflakes_messages(fix_case):
    ex = fix_case.example
    assert not (_pyflakes(ex.fixed) - _pyflakes(ex.code))


def _same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if type(a).__module__ == "numpy" and hasattr(a, "dtype"):
        import numpy as np

        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)  # type: ignore[attr-defined]
    return a == b


def _call(source: str, func: str, args: tuple[object, ...]) -> object:
    namespace: dict[str, object] = {}
    exec(compile(source, "<example>", "exec"), namespace)  # the rule's own example code
    try:
        return ("value", namespace[func](*args))  # type: ignore[operator]
    except Exception as exc:
        return ("raised", type(exc).__name__)


def test_safe_fixes_give_the_same_results(run_case):
    ex = run_case.example
    for module in ex.requires:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    assert ex.inputs, "a runnable example needs inputs"
    for args in ex.inputs:
        assert _same(_call(ex.code, ex.run, args), _call(ex.fixed, ex.run, args)), args


def test_runnable_examples_exist_for_safe_fixes():
    from conftest import CASES

    runnable = {c.code for c in CASES if c.example.run is not None and c.example.fixed and not c.example.unsafe}
    assert {"PYF101", "PYF102", "PYF204"} <= runnable


# -- engine behaviour beyond the examples ----------------------------------------------------

def test_nested_and_adjacent_findings_in_one_pass():
    src = (
        "import numpy as np\n\n"
        "def step(self, a):\n"
        "    x = float(a)\n"
        "    return np.abs(np.abs(x)) < 1.0, np.abs(x) < 2.0\n"
    )
    out = fix_source(src)
    assert out.fixed.endswith("    return abs(abs(x)) < 1.0, abs(x) < 2.0\n")
    assert [f.code for f in out.applied].count("PYF101") == 3
    assert fix_source(out.fixed).fixed == out.fixed


def test_parentheses_follow_precedence():
    src = (
        "import numpy as np\n\n"
        "x = np.ones(3)\n"
        "for t in range(3):\n"
        "    a = np.multiply(x, x).sum()\n"
        "    b = -np.add(x, 1)\n"
        "    c = np.multiply(x, x) + 1\n"
        "    d = 2 * np.add(x, x)\n"
        "    e = (np.power(x, 2))\n"
    )
    fixed = fix_source(src).fixed.splitlines()[-5:]
    assert fixed == [
        "    a = (x * x).sum()",
        "    b = -(x + 1)",
        "    c = x * x + 1",
        "    d = 2 * (x + x)",
        "    e = (x ** 2)",
    ]


def test_a_fix_that_would_drop_a_comment_is_not_applied_and_others_are():
    src = (
        "import numpy as np\n\n"
        "def step(self, a):\n"
        "    r = float(a)\n"
        "    y = np.clip(r,  # keep me\n"
        "                -1.0, 1.0) < 0.5\n"
        "    z = np.abs(r) < 0.1  # and me\n"
        "    return y, z\n"
    )
    out = fix_source(src)
    assert "# keep me" in out.fixed and "# and me" in out.fixed
    assert "z = abs(r) < 0.1  # and me" in out.fixed
    assert [(f.code, f.line) for f in out.remaining] == [("PYF101", 5)]


def test_imports_are_added_once_after_the_import_block():
    src = (
        '"""Doc."""\n'
        "from __future__ import annotations\n"
        "import numpy as np\n"
        "X = 1\n"
        "for t in range(3):\n"
        "    a = np.sqrt(float(t)) * 2\n"
        "    b = np.exp(float(t)) * 2\n"
    )
    fixed = fix_source(src, unsafe=True).fixed
    # math is added after the import block; numpy, no longer used, is removed
    assert fixed.splitlines()[:4] == ['"""Doc."""', "from __future__ import annotations", "import math", "X = 1"]
    assert fixed.count("import math") == 1


def test_imports_a_fix_made_unused_are_removed_but_not_others():
    src = (
        "import os\n"
        "import numpy as np  # numerics\n"
        "from numpy import sqrt, pi\n"
        "for t in range(3):\n"
        "    a = np.abs(float(t)) < 1\n"
        "    b = sqrt(2.0) < 1.5\n"
    )
    lines = fix_source(src, unsafe=True).fixed.splitlines()
    assert lines[:4] == [
        "import os",  # unused before the fix: not ours to remove
        "import numpy as np  # numerics",  # removing it would drop the comment
        "from numpy import pi",  # sqrt is gone (the fix replaced its only use), pi stays
        "import math",
    ]
    exported = "import numpy as np\n__all__ = ['np']\nfor t in range(3):\n    a = np.abs(float(t)) < 1\n"
    assert "import numpy as np" in fix_source(exported).fixed


def test_existing_import_is_reused_and_shadowed_math_blocks_the_fix():
    src = "import math\nimport numpy as np\nfor t in range(3):\n    a = np.sqrt(float(t)) * 2\n"
    assert fix_source(src, unsafe=True).fixed.count("import math") == 1
    shadowed = "import numpy as np\nmath = None\nfor t in range(3):\n    a = np.sqrt(float(t)) * 2\n"
    out = fix_source(shadowed, unsafe=True)
    assert not out.changed and [f.code for f in out.remaining] == ["PYF101"]


def test_crlf_tabs_and_deep_indentation_survive():
    src = ("import numpy as np\r\nZ = np.zeros(3)\r\n\r\nclass A:\r\n\tdef step(self, a):\r\n\t\tif a:\r\n"
           "\t\t\treturn np.abs(float(a)) < 1\r\n")
    fixed = fix_source(src).fixed
    assert fixed == src.replace("np.abs(", "abs(")


def test_selection_limits_the_rules():
    src = ("import numpy as np\nimport torch\nfor t in range(3):\n"
           "    a = np.abs(float(t)) < 1\n    z = torch.zeros(3).long()\n")
    out = fix_source(src, Selection(("PYF205",)))
    assert "np.abs(" in out.fixed and "dtype=torch.int64" in out.fixed


def test_verification_refuses_a_fix_that_leaves_its_finding(monkeypatch):
    from flake8_pyfast.rules import rule_by_code

    rule = rule_by_code("PYF101")
    # a "fix" that changes the text but keeps the slow call
    monkeypatch.setattr(type(rule), "fix", lambda self, node, fix, ctx, anchor="main":
                        node.with_changes(func=ctx.expr("np.absolute")))
    src = "import numpy as np\nfor t in range(3):\n    a = np.abs(float(t)) < 1\n"
    with pytest.raises(FixError, match="PYF101"):
        fix_source(src)


def test_a_crashing_fix_is_reported_not_written(monkeypatch):
    from flake8_pyfast.rules import rule_by_code

    def boom(self, node, fix, ctx, anchor="main"):
        raise RuntimeError("bug")

    monkeypatch.setattr(type(rule_by_code("PYF101")), "fix", boom)
    with pytest.raises(FixError, match="the fix failed"):
        fix_source("import numpy as np\nfor t in range(3):\n    a = np.abs(float(t)) < 1\n")

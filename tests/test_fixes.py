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


def test_imports_are_added_once_in_their_own_section():
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
    # math gets a stdlib block after the __future__ one; numpy, no longer used, is removed with its block
    assert fixed.splitlines()[:6] == ['"""Doc."""', "from __future__ import annotations", "", "import math", "",
                                      "X = 1"]
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
        "import math",  # alphabetically before os, in the stdlib imports
        "import os",  # unused before the fix: not ours to remove
        "import numpy as np  # numerics",  # removing it would drop the comment
        "from numpy import pi",  # sqrt is gone (the fix replaced its only use), pi stays
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


# -- where added imports go (isort/ruff sections) --------------------------------------------

LAYOUTS = [
    (  # every section present: math joins the stdlib block, alphabetically
        '"""Env."""\nfrom __future__ import annotations\n\nimport os\nimport sys\nfrom collections import deque\n\n'
        "import numpy as np\nimport torch\n\nfrom mypkg.envs import Env\nfrom .utils import helper\n\nX = 1\n",
        ("math", None),
        '"""Env."""\nfrom __future__ import annotations\n\nimport math\nimport os\nimport sys\nfrom collections import '
        "deque\n\nimport numpy as np\nimport torch\n\nfrom mypkg.envs import Env\nfrom .utils import helper\n\nX = 1\n",
    ),
    (  # no stdlib block: a new one on top, never after the project's own imports
        "import numpy as np\n\nfrom mypkg import thing\n\n\ndef f():\n    pass\n",
        ("math", None),
        "import math\n\nimport numpy as np\n\nfrom mypkg import thing\n\n\ndef f():\n    pass\n",
    ),
    (  # plain imports go before the section's from-imports
        "from collections import deque\nfrom typing import Any\n\nimport numpy as np\n",
        ("math", None),
        "import math\nfrom collections import deque\nfrom typing import Any\n\nimport numpy as np\n",
    ),
    (  # a third-party import with only relative imports after the stdlib: a new block between them
        "import os\n\nfrom . import helpers\nfrom .model import Net\n\nX = 1\n",
        ("torch", None),
        "import os\n\nimport torch\n\nfrom . import helpers\nfrom .model import Net\n\nX = 1\n",
    ),
    (  # into the third-party block, alphabetically; the first-party block after it stays last
        "import os\n\nimport gym\nimport numpy as np\nfrom scipy import stats\n\nfrom mypkg import x\n",
        ("torch", None),
        "import os\n\nimport gym\nimport numpy as np\nimport torch\nfrom scipy import stats\n\nfrom mypkg import x\n",
    ),
    (  # no imports at all: after the docstring, set apart by blank lines
        '"""Doc."""\nX = 1\n',
        ("math", None),
        '"""Doc."""\n\nimport math\n\nX = 1\n',
    ),
    (  # from-imports sort by module among the section's from-imports
        "import os\nfrom collections import deque\nfrom typing import Any\n\nimport numpy as np\n",
        ("torch.utils.data", "DataLoader"),
        "import os\nfrom collections import deque\nfrom typing import Any\n\nimport numpy as np\n"
        "from torch.utils.data import DataLoader\n",
    ),
]


@pytest.mark.parametrize(("src", "imp", "expected"), LAYOUTS)
def test_added_imports_go_where_isort_puts_them(src, imp, expected):
    from autofix.imports import add_imports

    assert add_imports(src, [imp]) == expected
    assert add_imports(expected, [imp]) == expected  # present: nothing to add


def test_a_fix_adds_math_into_the_stdlib_block_end_to_end():
    src = (
        '"""Reward shaping."""\n\nimport os\nimport sys\n\nimport numpy as np\nimport torch\n\n'
        "from mypkg.envs import make_env\n\n\ndef reward(d: float):\n    return np.sqrt(d) + np.zeros(2).sum()\n"
    )
    fixed = fix_source(src, unsafe=True).fixed
    assert fixed.startswith('"""Reward shaping."""\n\nimport math\nimport os\nimport sys\n\nimport numpy as np\n')
    assert "math.sqrt(d)" in fixed


# -- the typed handoff: every node type a fixable rule targets is known to the engine ------------

def _fixable_findings():
    from conftest import CASES

    from flake8_pyfast.checker import lint_source

    for case in CASES:
        if case.kind == "bad" and case.example.fixed is not None:
            for f in lint_source(case.example.code):
                if f.fix is not None:
                    yield case, f


def test_every_node_type_a_fixable_rule_targets_is_mapped_to_libcst():
    from autofix.apply import CST_TYPE
    from flake8_pyfast.rules import all_rules

    fixable = [r for r in all_rules() if r.fixable != "no"]
    assert fixable
    for rule in fixable:
        for node_type in rule.node_types:
            assert node_type.__name__ in CST_TYPE, (rule.code, node_type.__name__)
    anchored = 0
    for _, f in _fixable_findings():
        assert f.node_type in CST_TYPE, (f.code, f.node_type)
        for a in f.fix.anchors:
            anchored += 1
            assert a.node_type in CST_TYPE, (f.code, a.tag, a.node_type)
    assert anchored, "no example exercises an anchor"


def test_an_unmapped_node_type_is_an_error_not_a_silent_skip(monkeypatch):
    from autofix import apply

    monkeypatch.delitem(apply.CST_TYPE, "Call")
    with pytest.raises(apply.UnknownNodeType, match=r"PYF101 targets ast\.Call"):
        fix_source("import numpy as np\nfor t in range(3):\n    a = np.abs(float(t)) < 1\n")


def test_fix_data_is_typed_and_locators_lead_to_the_same_text_in_ast_and_cst():
    import dataclasses

    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from autofix.apply import CST_TYPE
    from flake8_pyfast.locator import follow
    from flake8_pyfast.model import FixData

    checked = 0
    for case, f in _fixable_findings():
        data = f.fix.data
        assert isinstance(data, FixData) and type(data) is not FixData, f.code
        assert dataclasses.is_dataclass(data) and type(data).__dataclass_params__.frozen
        assert type(data).__module__ == type(__import__("flake8_pyfast.rules", fromlist=["rule_by_code"])
                                             .rule_by_code(f.code)).__module__
        src = case.example.code
        tree = ast.parse(src)
        node = next(n for n in ast.walk(tree) if type(n).__name__ == f.node_type and
                    (n.lineno, n.col_offset, n.end_lineno, n.end_col_offset) == (f.line, f.col, f.end_line, f.end_col))
        wrapper = MetadataWrapper(cst.parse_module(src))
        positions = wrapper.resolve(PositionProvider)
        cnode = next(n for n, p in positions.items() if type(n).__name__ == CST_TYPE[f.node_type] and
                     (p.start.line, p.start.column, p.end.line, p.end.column) == (f.line, f.col, f.end_line, f.end_col))
        for field in dataclasses.fields(data):
            value = getattr(data, field.name)
            if "Locator" not in str(field.type) or not value:
                continue
            for path in value if str(field.type).startswith("tuple[") else [value]:
                if f.code == "PYF205" and field.name == "source":
                    continue  # located from the anchor, checked by the PYF205 examples
                a_text = ast.get_source_segment(src, follow(node, path))
                c_text = wrapper.module.code_for_node(follow(cnode, path))
                assert a_text is not None and a_text in c_text, (f.code, field.name, path)
                checked += 1
    assert checked >= 10

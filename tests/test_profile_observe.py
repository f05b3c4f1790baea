"""The run-time observer of expression kinds (issue 11, part 2: ``runtime_check/profile/observe.py``).

The observer installs global hooks (``sys.meta_path``, ``builtins``), so every test runs it in a
subprocess: a tiny driver starts it with a payload, runs a few lines, and prints the results.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from runtime_check.profile import observe

ROOT = Path(__file__).resolve().parent.parent

DRIVER = """
import json, sys
sys.path[:0] = [{root!r}, {tmp!r}]
from runtime_check.profile import observe
with open({payload!r}, encoding="utf-8") as fh:
    payload = json.load(fh)
out = {{}}
obs = observe.start(payload)
{body}
if "result" not in out:
    out["result"] = obs.finish()
print("@@" + json.dumps(out, default=repr))
"""


def span(source: str, text: str, line_hint: str | None = None) -> tuple[int, int, int, int]:
    """The ``ast`` position (1-based line, UTF-8 byte columns) of ``text`` on the one line holding
    it (or holding ``line_hint`` too); ``text`` is on one line."""
    hits = [
        (n, line)
        for n, line in enumerate(source.splitlines(), 1)
        if text in line and (line_hint is None or line_hint in line)
    ]
    assert len(hits) == 1, f"{text!r} is on {len(hits)} lines"
    n, line = hits[0]
    col = len(line[: line.index(text)].encode("utf-8"))
    return n, col, n, col + len(text.encode("utf-8"))


def site(site_id: int, path: Path, pos: tuple[int, int, int, int]) -> dict[str, Any]:
    return {"id": site_id, "path": str(path), "line": pos[0], "col": pos[1], "end_line": pos[2], "end_col": pos[3]}


def every_expression(path: Path, first_id: int = 0) -> list[dict[str, Any]]:
    """A site at every expression node's position (repeated positions once)."""
    tree = ast.parse(path.read_bytes())
    spans = {
        (n.lineno, n.col_offset, n.end_lineno or 0, n.end_col_offset or 0): None
        for n in ast.walk(tree)
        if isinstance(n, ast.expr)
    }
    return [site(first_id + i, path, pos) for i, pos in enumerate(spans)]


def run_driver(
    tmp_path: Path, body: str, sites: list[dict[str, Any]], max_records: int = 5, env: dict[str, str] | None = None
) -> dict[str, Any]:
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"sites": sites, "max_records": max_records}), encoding="utf-8")
    driver = tmp_path / "driver.py"
    driver.write_text(
        DRIVER.format(root=str(ROOT), tmp=str(tmp_path), payload=str(payload), body=textwrap.dedent(body)),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, str(driver)], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False, env=env
    )
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("@@"))
    return json.loads(line[2:])


def write(tmp_path: Path, name: str, source: str) -> tuple[Path, str]:
    source = textwrap.dedent(source)
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return path, source


# -- descriptors ---------------------------------------------------------------------------------

NUMPY_CASES = [
    ("1.5", {"type": "float"}),
    ("a[0, 1]", {"type": "numpy_scalar", "dtype": "float32"}),
    ("a", {"type": "ndarray", "dtype": "float32", "shape": [2, 3]}),
    ("np.float64(2.0)", {"type": "numpy_scalar", "dtype": "float64"}),
    ("a > 1", {"type": "ndarray", "dtype": "bool", "shape": [2, 3]}),
    ("(a > 1).all()", {"type": "numpy_scalar", "dtype": "bool"}),
    ("np.arange(3)[1]", {"type": "numpy_scalar", "dtype": "int64"}),
    ("3", {"type": "int"}),
    ("True", {"type": "bool"}),
    ("None", {"type": "none"}),
    ("1j", {"type": "complex"}),
    ("'s'", {"type": "str"}),
    ("{'k': 1}", {"type": "dict", "len": 1}),
    (
        "[1, a[0, 0], [2.0, None], [[1]]]",
        {
            "type": "list",
            "len": 4,
            "items": [
                {"type": "int"},
                {"type": "numpy_scalar", "dtype": "float32"},
                {"type": "list", "len": 2, "items": [{"type": "float"}, {"type": "none"}]},
                {"type": "list", "len": 1, "items": [{"type": "list", "len": 1}]},
            ],
        },
    ),
    ("tuple(range(9))", {"type": "tuple", "len": 9}),
    ("P(1, 2.0)", {"type": "tuple", "len": 2, "items": [{"type": "int"}, {"type": "float"}], "class": "mod.P"}),
    ("P", {"type": "object", "class": "builtins.type"}),
    ("np.cos", {"type": "object", "class": "numpy.ufunc"}),
]


def test_imported_module_records_numpy_and_python_kinds(tmp_path):
    pytest.importorskip("numpy")
    lines = [f"    out.append({expr})" for expr, _ in NUMPY_CASES]
    source = (
        "import collections\nimport numpy as np\n\nP = collections.namedtuple('P', 'x y')\n\n\n"
        "def values():\n    a = np.arange(6, dtype=np.float32).reshape(2, 3)\n    out = []\n"
        + "\n".join(lines)
        + "\n    return out\n"
    )
    path, _ = write(tmp_path, "mod.py", source)
    first = source.splitlines().index(lines[0]) + 1
    col = len("    out.append(")
    sites = [site(i, path, (first + i, col, first + i, col + len(expr))) for i, (expr, _) in enumerate(NUMPY_CASES)]
    out = run_driver(tmp_path, "import mod\nmod.values()\n", sites)["result"]
    assert out["errors"] == []
    assert out["files"][str(path)]["instrumented"] == len(NUMPY_CASES)
    for i, (expr, expected) in enumerate(NUMPY_CASES):
        assert out["sites"][str(i)] == {"count": 1, "kinds": [expected]}, expr


def test_tensor_kinds(tmp_path):
    pytest.importorskip("torch")
    cases = [
        ("torch.zeros(64, 7)", {"type": "tensor", "dtype": "float32", "shape": [64, 7], "device": "cpu",
                                "requires_grad": False}),
        ("torch.ones(4, requires_grad=True)", {"type": "tensor", "dtype": "float32", "shape": [4], "device": "cpu",
                                               "requires_grad": True}),
        ("torch.tensor(3)", {"type": "tensor", "dtype": "int64", "shape": [], "device": "cpu",
                             "requires_grad": False}),
        ("torch.zeros(2, dtype=torch.float64) > 0", {"type": "tensor", "dtype": "bool", "shape": [2],
                                                     "device": "cpu", "requires_grad": False}),
        ("torch.nn.Parameter(torch.zeros(1))", {"type": "tensor", "dtype": "float32", "shape": [1], "device": "cpu",
                                                "requires_grad": True,
                                                "class": "torch.nn.parameter.Parameter"}),
        ("torch.zeros(3)[1].item()", {"type": "float"}),
    ]
    lines = [f"    out.append({expr})" for expr, _ in cases]
    source = "import torch\n\n\ndef values():\n    out = []\n" + "\n".join(lines) + "\n    return out\n"
    path, _ = write(tmp_path, "tmod.py", source)
    col = len("    out.append(")
    sites = [site(i, path, (6 + i, col, 6 + i, col + len(expr))) for i, (expr, _) in enumerate(cases)]
    out = run_driver(tmp_path, "import tmod\ntmod.values()\n", sites)["result"]
    assert out["errors"] == []
    for i, (expr, expected) in enumerate(cases):
        assert out["sites"][str(i)] == {"count": 1, "kinds": [expected]}, expr


# -- counting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_records", [0, 1, 3])
def test_counts_are_exact_and_kinds_bounded(tmp_path, max_records):
    path, source = write(
        tmp_path,
        "loop.py",
        """
        def g(v):
            return v


        def run(n):
            total = 0
            for i in range(n):
                v = i if i % 2 else float(i)
                total += g(g(i))
                if i > 1000:
                    total += i * 2
            return total
        """,
    )
    sites = [
        site(1, path, span(source, "i if i % 2 else float(i)")),
        site(2, path, span(source, "g(g(i))")),
        site(3, path, span(source, "g(i)", "total += g(g(i))")),
        site(4, path, span(source, "i * 2")),
        site(5, path, span(source, "range(n)")),
    ]
    body = """
    import sys
    import loop
    out["total"] = loop.run(37)
    out["heavy"] = [m for m in ("numpy", "torch") if m in sys.modules]
    """
    out = run_driver(tmp_path, body, sites, max_records=max_records)
    assert out["total"] == sum(range(37))
    assert out["heavy"] == []  # describing never imports NumPy or torch
    got = out["result"]["sites"]
    assert [got[k]["count"] for k in "12345"] == [37, 37, 37, 0, 1]
    # evaluations 0, 1, 2 hold float, int, float: distinct kinds of the first max_records
    assert got["1"]["kinds"] == [{"type": "float"}, {"type": "int"}][:max_records]
    assert got["2"]["kinds"] == ([{"type": "int"}] if max_records else [])
    assert got["4"]["kinds"] == []
    assert got["5"]["kinds"] == ([{"type": "object", "class": "builtins.range"}] if max_records else [])


# -- the main script and -m modules ----------------------------------------------------------------


def test_main_script_through_compile_and_module_through_runpy(tmp_path):
    main, main_src = write(
        tmp_path,
        "main.py",
        """
        import sys
        xs = [k / 2 for k in range(5)]
        RESULT = (__name__, sum(xs))
        """,
    )
    mmain, mmain_src = write(tmp_path, "mmain.py", "import sys\nVALUE = len(sys.argv) * 3\n")
    plain, _ = write(tmp_path, "plain.py", "X = 1\n")
    sites = [
        site(1, main, span(main_src, "k / 2")),
        site(2, main, span(main_src, "sum(xs)")),
        site(3, mmain, span(mmain_src, "len(sys.argv) * 3")),
    ]
    body = f"""
    import hashlib, runpy
    path = {str(main)!r}
    data = open(path, "rb").read()
    code = obs.compile(path, data)
    namespace = {{"__name__": "__main__"}}
    exec(code, namespace)
    out["main"] = namespace["RESULT"]
    out["filename"] = code.co_filename
    out["sha"] = hashlib.sha256(data).hexdigest()
    out["module"] = runpy.run_module("mmain", run_name="__main__")["VALUE"]
    plain_code = obs.compile({str(plain)!r}, "X = 1\\n")
    out["plain_names"] = list(plain_code.co_names)
    try:
        obs.compile(path, b"def (:\\n")
    except SyntaxError as exc:
        out["syntax_error_file"] = exc.filename
    """
    out = run_driver(tmp_path, body, sites)
    assert out["main"] == ["__main__", 5.0]
    assert out["filename"] == str(main)
    assert out["module"] == 3
    assert out["plain_names"] == ["X"]  # a file without sites is compiled untouched
    assert out["syntax_error_file"] == str(main)
    result = out["result"]
    assert result["sites"]["1"] == {"count": 5, "kinds": [{"type": "float"}]}
    assert result["sites"]["2"] == {"count": 1, "kinds": [{"type": "float"}]}
    assert result["sites"]["3"] == {"count": 1, "kinds": [{"type": "int"}]}
    # the last compile of main.py (the syntax error) does not replace the record of the one that ran
    assert result["files"][str(main)]["instrumented"] == 2
    assert result["files"][str(mmain)] == {
        "sha256": __import__("hashlib").sha256(mmain.read_bytes()).hexdigest(),
        "instrumented": 1,
        "missed": 0,
    }
    assert str(plain) not in result["files"]


# -- missed sites ------------------------------------------------------------------------------


def test_sites_that_match_nothing_or_cannot_be_wrapped_are_missed(tmp_path):
    path, source = write(
        tmp_path,
        "m.py",
        '''
        """A docstring."""


        def f(x: int) -> int:
            y = x + 1
            return y * 2
        ''',
    )
    line, col, _, end = span(source, "x + 1")
    sites = [
        site(1, path, (line, col, line, end)),  # the real one
        site(2, path, (line, col + 1, line, end)),  # shifted by a character: the source changed
        site(3, path, (line + 40, 0, line + 40, 3)),  # past the end of the file
        site(4, path, span(source, "y", "y = x + 1")),  # an assignment target
        site(5, path, span(source, "int", "def f")),  # an annotation
        site(6, path, span(source, '"""A docstring."""')),  # the docstring
    ]
    out = run_driver(tmp_path, "import m\nout['value'] = m.f(3)\n", sites)
    assert out["value"] == 8
    result = out["result"]
    assert result["files"][str(path)]["instrumented"] == 1
    assert result["files"][str(path)]["missed"] == 5
    assert result["sites"]["1"]["count"] == 1
    assert all(result["sites"][str(i)] == {"count": 0, "kinds": []} for i in range(2, 7))
    errors = result["errors"]
    assert len(errors) == 5
    assert all(e.startswith(f"{path}:") for e in errors)
    by_site = {int(e.split(" site ")[1].split()[0]): e for e in errors}
    assert "no expression node" in by_site[2] and "no expression node" in by_site[3]
    assert "assignment" in by_site[4] and "annotation" in by_site[5] and "docstring" in by_site[6]


# -- only the files with sites are rewritten; no bytecode written or read for them -----------------


def test_modules_without_sites_are_not_rewritten_and_no_bytecode_is_used(tmp_path):
    mod, mod_src = write(tmp_path, "withsites.py", "import other\n\ndef f():\n    return other.g() + 1\n")
    write(tmp_path, "other.py", "def g():\n    return 41\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # a .pyc of withsites.py from an earlier plain import: the observer must not load it
    subprocess.run([sys.executable, "-c", "import withsites"], cwd=tmp_path, check=True, env=env)
    cache = tmp_path / "__pycache__"
    before = sorted(p.name for p in cache.iterdir())
    assert any(name.startswith("withsites.") for name in before)
    for pyc in cache.glob("other.*"):
        pyc.unlink()
    body = """
    import importlib.machinery, withsites, other
    out["value"] = withsites.f()
    out["other_loader_is_plain"] = type(other.__loader__) is importlib.machinery.SourceFileLoader
    out["withsites_loader_is_plain"] = type(withsites.__loader__) is importlib.machinery.SourceFileLoader
    out["other_has_hook"] = "__pyfast_observe__" in vars(other)
    """
    out = run_driver(tmp_path, body, [site(1, mod, span(mod_src, "other.g() + 1"))], env=env)
    assert out["value"] == 42
    assert out["result"]["sites"]["1"] == {"count": 1, "kinds": [{"type": "int"}]}
    assert out["other_loader_is_plain"] and not out["other_has_hook"]
    assert not out["withsites_loader_is_plain"]
    after = sorted(p.name for p in cache.iterdir())
    assert any(name.startswith("other.") for name in after)  # the normal machinery wrote its .pyc
    assert [n for n in after if n.startswith("withsites.")] == [n for n in before if n.startswith("withsites.")]


# -- semantics ---------------------------------------------------------------------------------------


def test_exceptions_keep_the_users_line(tmp_path):
    path, _ = write(
        tmp_path,
        "boom.py",
        """
        def boom(x):
            y = 1
            return 10 / x


        def multi(s):
            return (1 +
                    int(s))
        """,
    )
    sites = every_expression(path)
    body = """
    import traceback, boom
    out["frames"] = []
    for call in (lambda: boom.boom(0), lambda: boom.multi("a")):
        try:
            call()
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            out["frames"].append([frame.filename, frame.lineno, frame.line])
    """
    out = run_driver(tmp_path, body, sites)
    assert out["frames"] == [[str(path), 4, "return 10 / x"], [str(path), 9, "int(s))"]]
    assert out["result"]["files"][str(path)]["instrumented"] > 5


SEMANTICS = '''
"""Constructs whose behaviour wrapping must not change; main() returns what happened, in order."""
import asyncio

trace = []


def note(tag, value=None):
    trace.append(tag)
    return value


def deco(f):
    trace.append("deco")
    return f


class Base:
    def who(self):
        return "base"


class Child(Base):
    scale: int = 3
    doubled = [k * 2 for k in range(scale)]
    label = f"{scale!r:>{scale + 1}}-{len(doubled)}"

    def who(self):
        return "child<" + super().who() + ">"


def gen(n):
    total = 0
    for i in range(n):
        got = yield i * 2
        total += got or 0
    return total


def delegate():
    result = yield from gen(3)
    trace.append(("delegated", result))


def counter():
    n = 0

    def inc():
        nonlocal n
        n += note("inc", 1)
        return n

    return inc


async def twice(x):
    await asyncio.sleep(0)
    return x * 2


async def runner():
    values = [await twice(i) for i in range(3)]
    return values, await twice(await twice(1))


@deco
def main():
    trace.clear()
    a = note("a", 0) or note("b", 0) or note("c", 5)
    b = note("d", 0) and note("never", 1)
    c = 1 < note("e", 2) < 3
    trace.append((a, b, c))
    if (n := len(trace)) > 2:
        trace.append(("walrus", n))
    squares = {k: k * k for k in range(4) if k % 2}
    f = lambda x, y=note("default", 2): x ** y
    trace.append(f(3))
    first, *rest = [note("u", 1), *range(3)]
    trace.append((first, rest))
    g = delegate()
    trace.append(next(g))
    trace.append(g.send(10))
    trace.append(g.send(20))
    try:
        g.send(30)
    except StopIteration:
        trace.append("stop")
    inc = counter()
    trace.append((inc(), inc()))
    trace.append(asyncio.run(runner()))
    trace.append(Child().who())
    trace.append((Child.doubled, Child.label, Child.__annotations__))  # annotations are not strings
    try:
        [1][note("idx", 5)]
    except IndexError as exc:
        trace.append(type(exc).__name__)
    match {"k": [1, 2]}:
        case {"k": [x, *others]} if x > 0:
            trace.append((x, others))
    d = dict(a=1, **{"b": 2})
    trace.append(sorted(d))
    arr = list(range(10))
    trace.append(arr[1:note("stop", 8):2])
    del arr[0]
    x = 0
    x += note("aug", 4)
    trace.append(f"{x=} {x!r:>3}")
    trace.append(squares)
    lazy = (note("genexp", k) for k in range(2))
    trace.append("before genexp")
    trace.append(list(lazy))
    return [repr(t) for t in trace]
'''


def test_wrapping_every_expression_keeps_behaviour(tmp_path):
    write(tmp_path, "sem_plain.py", SEMANTICS)
    path, source = write(tmp_path, "sem.py", SEMANTICS)
    sites = every_expression(path)
    by_pos = {(s["line"], s["col"], s["end_line"], s["end_col"]): s["id"] for s in sites}
    never = by_pos[span(source, 'note("never", 1)')]
    c5 = by_pos[span(source, 'note("c", 5)')]
    body = """
    import sem, sem_plain
    out["observed"] = sem.main()
    out["plain"] = sem_plain.main()
    """
    out = run_driver(tmp_path, body, sites)
    assert out["observed"] == out["plain"]
    assert "'never'" not in out["observed"]  # short-circuit kept
    result = out["result"]
    assert result["sites"][str(never)]["count"] == 0
    assert result["sites"][str(c5)] == {"count": 1, "kinds": [{"type": "int"}]}
    info = result["files"][str(path)]
    assert info["instrumented"] > 150
    assert info["instrumented"] + info["missed"] == len(sites)
    allowed = ("assignment or del target", "starred", "slice", "annotation", "docstring", "format spec",
               "zero-argument super()", "match pattern", "part of an f-string")
    reasons = [e.split("missed: the expression there is ")[1] for e in result["errors"]]
    assert len(reasons) == info["missed"]
    assert all(any(a in r for a in allowed) for r in reasons), reasons
    for expected in ("annotation", "zero-argument super()", "format spec", "starred", "match pattern"):
        assert any(expected in r for r in reasons), expected


def test_nested_and_shared_positions(tmp_path):
    path, source = write(tmp_path, "nest.py", "def f(v):\n    return abs(-v) + abs(v)\n")
    outer = span(source, "abs(-v) + abs(v)")
    sites = [site(1, path, outer), site(2, path, span(source, "-v")), site(3, path, outer)]
    out = run_driver(tmp_path, "import nest\nout['v'] = [nest.f(2.0), nest.f(3)]\n", sites)
    assert out["v"] == [4.0, 6]
    got = out["result"]["sites"]
    assert got["1"] == got["3"] == {"count": 2, "kinds": [{"type": "float"}, {"type": "int"}]}
    assert got["2"]["count"] == 2


# -- installing and uninstalling ----------------------------------------------------------------------


def test_finish_restores_meta_path_and_builtins(tmp_path):
    path, source = write(tmp_path, "late.py", "def f(x):\n    return x + 1\n")
    sites = [site(1, path, span(source, "x + 1"))]
    payload = tmp_path / "p.json"
    payload.write_text(json.dumps({"sites": sites, "max_records": 5}), encoding="utf-8")
    script = f"""
import builtins, json, sys
sys.path[:0] = [{str(ROOT)!r}, {str(tmp_path)!r}]
from runtime_check.profile import observe
meta_before = list(sys.meta_path)
had_before = hasattr(builtins, "__pyfast_observe__")
obs = observe.start(json.load(open({str(payload)!r})))
during = [hasattr(builtins, "__pyfast_observe__"), len(sys.meta_path) - len(meta_before)]
try:
    observe.start(json.load(open({str(payload)!r})))
    second = "started"
except RuntimeError as exc:
    second = "refused"
import late
late.f(1)
result = obs.finish()
print(json.dumps({{
    "had_before": had_before, "during": during, "second": second,
    "after_builtins": hasattr(builtins, "__pyfast_observe__"),
    "meta_restored": sys.meta_path == meta_before,
    "late_after_finish": late.f(2),  # code rewritten earlier still runs
    "count": result["sites"]["1"]["count"],
    "again": obs.finish()["sites"]["1"]["count"],
}}))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {
        "had_before": False,
        "during": [True, 1],
        "second": "refused",
        "after_builtins": False,
        "meta_restored": True,
        "late_after_finish": 3,
        "count": 1,
        "again": 2,
    }


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ([], "expected a dict"),
        ({"sites": [{"id": 1, "path": "rel.py", "line": 1, "col": 0, "end_line": 1, "end_col": 1}]}, "absolute"),
        ({"sites": [{"id": 1, "path": "/a.py", "line": "1", "col": 0, "end_line": 1, "end_col": 1}]}, "'line'"),
        ({"sites": [{"id": 1, "path": "/a.py", "line": 1, "col": 0, "end_line": 1, "end_col": 1}] * 2}, "twice"),
        ({"sites": [], "max_records": -1}, "max_records"),
    ],
)
def test_bad_payload_is_refused_before_installing(payload, needle):
    meta = list(sys.meta_path)
    with pytest.raises(observe.PayloadError, match=needle):
        observe.start(payload)
    assert sys.meta_path == meta
    assert not hasattr(builtins, observe.OBSERVE_NAME)

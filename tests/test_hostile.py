"""Hostile input through the real command lines: never a crash, never a lost byte.

Every case runs ``pyfast-fix`` on a folder holding the hostile item *and* a normal file with a
fixable finding: the hostile item gets a clear message naming it, the exit code follows the
conventions, the normal file is still fixed, and nothing that should not change changes.
``flake8 --select PYF`` runs on the same folder: the plugin must never raise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SLOW = textwrap.dedent("""\
    import numpy as np


    def step(self, a):
        x = float(a)
        return np.abs(x) < 0.5, np.zeros(3)
    """)
FIXED = SLOW.replace("np.abs(x)", "abs(x)")


def fix(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autofix.cli", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)


def flake8(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "PYF", "-j", "1", *args],
                          cwd=cwd, capture_output=True, text=True, check=False)


def plugin_is_fine(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode in (0, 1), proc.stderr
    assert "flake8_pyfast" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "good.py").write_text(SLOW)
    return tmp_path


def good_was_fixed(tree: Path) -> None:
    assert (tree / "good.py").read_text() == FIXED


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("syntax.py", b"import numpy as np\ndef broken(:\n    pass\n", "syntax error at line 2"),
        ("latin_nocoding.py", b"import numpy as np\nx = '\xe9\xff'\n", "not valid UTF-8 at byte"),
        ("binary.py", b"\x00\x01\x02\xffbinary\x00", "looks binary"),
        ("bad_cookie.py", b"# -*- coding: no-such-codec -*-\nx = 1\n", "encoding"),
    ],
)
def test_unreadable_or_unparsable_files_are_reported_and_left_alone(tree, name, content, message):
    bad = tree / name
    bad.write_bytes(content)
    proc = fix(".", cwd=tree)
    assert proc.returncode == 2
    assert f"{name}: error: " in proc.stderr and message in proc.stderr
    assert "internal error" not in proc.stderr
    assert bad.read_bytes() == content
    good_was_fixed(tree)
    linted = flake8(".", cwd=tree)
    if parser_error(content.decode("latin-1")) == "ValueError":
        # this interpreter's parser raises ValueError (3.10 on null bytes), which flake8 itself does not
        # catch: it fails building the ast, before any plugin runs
        assert "flake8_pyfast" not in linted.stderr and linted.stderr.rstrip().endswith("null bytes"), linted.stderr
    else:
        plugin_is_fine(linted)


def parser_error(text: str) -> str:
    """The name of the exception this interpreter's ``ast.parse`` raises on ``text`` ('' for none)."""
    probe = subprocess.run(
        [sys.executable, "-c", f"import ast\ntry:\n    ast.parse({text!r})\n"
                               "except Exception as exc:\n    print(type(exc).__name__)"],
        capture_output=True, text=True, check=True,
    )
    return probe.stdout.strip()


def test_latin1_with_coding_line_is_fixed_in_its_encoding(tree):
    f = tree / "latin.py"
    content = ("# -*- coding: latin-1 -*-\n" + SLOW + "NAME = 'Müller'\n").encode("latin-1")
    f.write_bytes(content)
    assert "PYF101" in flake8("latin.py", cwd=tree).stdout
    assert fix(".", cwd=tree).returncode == 0
    assert f.read_bytes() == content.replace(b"np.abs(x)", b"abs(x)")


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("bom.py", lambda s: b"\xef\xbb\xbf" + s.encode()),
        ("crlf.py", lambda s: s.replace("\n", "\r\n").encode()),
        ("mixed.py", lambda s: s.replace("\n", "\r\n", 3).encode()),
        ("tabs.py", lambda s: s.replace("    ", "\t").encode()),
        ("no_final_newline.py", lambda s: s.rstrip("\n").encode()),
    ],
)
def test_layout_survives_byte_for_byte(tree, name, transform):
    f = tree / name
    f.write_bytes(transform(SLOW))
    assert "PYF101" in flake8(name, cwd=tree).stdout
    assert fix(".", cwd=tree).returncode == 0
    assert f.read_bytes() == transform(FIXED)


def test_empty_file(tree):
    (tree / "empty.py").write_bytes(b"")
    assert fix(".", cwd=tree).returncode == 0
    assert (tree / "empty.py").read_bytes() == b""
    plugin_is_fine(flake8("empty.py", cwd=tree))


def test_large_generated_file(tree):
    body = "".join(f"    y{i} = np.sqrt(float(t)) * 2\n" for i in range(4000))
    f = tree / "big.py"
    f.write_text("import numpy as np\nfor t in range(3):\n" + body)
    proc = fix("--unsafe-fixes", ".", cwd=tree)
    assert proc.returncode == 0, proc.stderr
    assert f.read_text().count("math.sqrt(float(t))") == 4000
    plugin_is_fine(flake8("big.py", cwd=tree))


def test_deeply_nested_expressions(tree):
    parseable = tree / "deep.py"
    parseable.write_text("import numpy as np\nfor t in range(3):\n    x = np.zeros(3)" + " + x" * 900 + "\n"
                         + "    y = " + "np.abs(" * 150 + "float(t)" + ")" * 150 + " < 1\n")
    proc = fix(".", cwd=tree)
    assert proc.returncode in (0, 1), proc.stderr
    assert "deep.py" not in proc.stderr
    plugin_is_fine(flake8("deep.py", cwd=tree))
    too_deep = tree / "too_deep.py"
    content = "x = 1" + " + 1" * 6000 + "\n"
    too_deep.write_text(content)
    # whether this is too deep depends on the interpreter (3.13's parser takes it): ask it
    probe = subprocess.run([sys.executable, "-c", "import ast, sys; ast.parse(sys.stdin.read())"], input=content,
                           capture_output=True, text=True, check=False)
    proc = fix(".", cwd=tree)
    if probe.returncode == 0:
        assert proc.returncode in (0, 1) and "too_deep.py" not in proc.stderr, proc.stderr
    else:
        assert "RecursionError" in probe.stderr or "too" in probe.stderr, probe.stderr
        assert proc.returncode == 2 and "too_deep.py: error: too deeply nested for Python's parser" in proc.stderr
    assert too_deep.read_text() == content
    good_was_fixed(tree)
    # (where the parser gives up, flake8 itself fails building the ast of too_deep.py, before any plugin runs)


def test_a_directory_named_like_a_module(tree):
    d = tree / "pkg.py"
    d.mkdir()
    (d / "inner.py").write_text(SLOW)
    assert fix("pkg.py", "good.py", cwd=tree).returncode == 0
    assert (d / "inner.py").read_text() == FIXED
    good_was_fixed(tree)
    plugin_is_fine(flake8(".", cwd=tree))


def test_read_only_file_is_reported_not_changed_others_still_fixed(tree):
    ro = tree / "ro.py"
    ro.write_text(SLOW)
    ro.chmod(0o444)
    try:
        proc = fix(".", cwd=tree)
        assert proc.returncode == 2
        assert "ro.py: error: read-only: not changed" in proc.stderr
        assert ro.read_text() == SLOW
        good_was_fixed(tree)
        plugin_is_fine(flake8(".", cwd=tree))
    finally:
        ro.chmod(0o644)


def test_symlinks_out_of_the_tree_and_loops(tree, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "theirs.py"
    outside.write_text(SLOW)
    (tree / "link.py").symlink_to(outside)
    (tree / "loop_a.py").symlink_to(tree / "loop_b.py")
    (tree / "loop_b.py").symlink_to(tree / "loop_a.py")
    proc = fix(".", cwd=tree)
    assert "link.py: skipped: symlink to" in proc.stderr and "outside the project: not followed" in proc.stderr
    assert "loop_a.py: error: broken symlink or symlink loop" in proc.stderr
    assert proc.returncode == 2
    assert outside.read_text() == SLOW
    good_was_fixed(tree)
    plugin_is_fine(flake8("good.py", "link.py", cwd=tree))


def test_symlink_inside_the_tree_is_fixed_once(tree):
    (tree / "alias.py").symlink_to(tree / "good.py")
    proc = fix(".", cwd=tree)
    assert proc.returncode == 0 and "Fixed 1 finding(s) in 1 file(s)" in proc.stderr
    assert (tree / "alias.py").is_symlink()
    good_was_fixed(tree)


def test_the_same_file_passed_twice(tree):
    proc = fix("good.py", "good.py", "./good.py", cwd=tree)
    assert proc.returncode == 0 and "Fixed 1 finding(s) in 1 file(s)" in proc.stderr
    good_was_fixed(tree)
    plugin_is_fine(flake8("good.py", "good.py", cwd=tree))


def test_a_file_deleted_between_discovery_and_reading(tree, monkeypatch, capsys):
    from autofix import cli, files

    doomed = tree / "doomed.py"
    doomed.write_text(SLOW)
    real = files.read_source

    def vanish(path):
        if path.name == "doomed.py":
            path.unlink()
        return real(path)

    monkeypatch.setattr(cli, "read_source", vanish)
    monkeypatch.chdir(tree)
    assert cli.main(["-j", "1", "."]) == 2
    err = capsys.readouterr().err
    assert "doomed.py: error: no such file (deleted while pyfast was running?)" in err
    good_was_fixed(tree)


def test_a_file_changed_while_it_was_being_fixed_is_not_overwritten(tree, monkeypatch, capsys):
    from autofix import cli, engine

    real = engine.fix_source

    def meddle(source, *args, **kwargs):
        out = real(source, *args, **kwargs)
        (tree / "good.py").write_text(SLOW + "# edited meanwhile\n")
        return out

    monkeypatch.setattr(cli, "fix_source", meddle)
    monkeypatch.chdir(tree)
    assert cli.main(["-j", "1", "good.py"]) == 2
    assert "changed on disk while pyfast was running" in capsys.readouterr().err
    assert (tree / "good.py").read_text().endswith("# edited meanwhile\n")


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 695 and nested f-strings need Python 3.12")
def test_python_312_syntax(tree):
    f = tree / "modern.py"
    f.write_text(textwrap.dedent("""\
        import numpy as np

        type Vector = list[float]


        def step[T](self, a: T) -> T:
            x = float(a)
            label = f"{f'{x:.2f}'!r}"
            return np.abs(x) < 0.5, label
        """))
    assert fix(".", cwd=tree).returncode == 0
    assert "abs(x) < 0.5" in f.read_text() and "np.abs" not in f.read_text()
    plugin_is_fine(flake8("modern.py", cwd=tree))


def test_python_312_syntax_on_older_interpreters_is_a_syntax_error(tree):
    if sys.version_info >= (3, 12):
        pytest.skip("this interpreter parses it")
    f = tree / "modern.py"
    content = "type Vector = list[float]\n"
    f.write_text(content)
    proc = fix(".", cwd=tree)
    assert proc.returncode == 2 and "modern.py: error: syntax error" in proc.stderr
    assert f.read_text() == content


def test_permission_denied_on_read(tree):
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    f = tree / "secret.py"
    f.write_text(SLOW)
    f.chmod(0)
    try:
        proc = fix(".", cwd=tree)
        assert proc.returncode == 2 and "secret.py: error: permission denied" in proc.stderr
        good_was_fixed(tree)
    finally:
        f.chmod(0o644)

"""pyfast-fix through a real subprocess: exit codes, modes, selection, noqa, config, stdin, bytes."""

from __future__ import annotations

import json
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
        return np.abs(x) < 0.5
    """)
FIXED = SLOW.replace("import numpy as np\n\n\n", "").replace("np.abs(x)", "abs(x)")
UNFIXABLE = textwrap.dedent("""\
    import numpy as np


    def step(self, a):
        return np.array([a, a]) @ self.w
    """)


def run(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYFAST")}
    return subprocess.run([sys.executable, "-m", "autofix.cli", *args], cwd=cwd, input=stdin,
                          capture_output=True, check=False, env=env)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def test_fixes_in_place_and_exits_zero_when_nothing_is_left(tmp_path):
    f = write(tmp_path / "m.py", SLOW)
    proc = run(".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f.read_text() == FIXED
    assert b"Fixed 1 finding(s) in 1 file(s)" in proc.stderr
    assert run(".", cwd=tmp_path).returncode == 0  # idempotent
    assert f.read_text() == FIXED


def test_findings_left_exit_one(tmp_path):
    write(tmp_path / "m.py", UNFIXABLE)
    proc = run(".", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.decode().startswith("m.py:5:12: PYF201 ")


def test_clean_tree_exits_zero(tmp_path):
    write(tmp_path / "m.py", "x = 1\n")
    proc = run(cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == b""


def test_diff_and_check_write_nothing(tmp_path):
    f = write(tmp_path / "m.py", SLOW)
    before = f.read_bytes()
    diff = run("--diff", "m.py", cwd=tmp_path)
    assert diff.returncode == 1
    assert b"--- a/m.py" in diff.stdout and b"+    return abs(x) < 0.5" in diff.stdout
    check = run("--check", "m.py", cwd=tmp_path)
    assert check.returncode == 1 and b"would fix: m.py" in check.stdout
    assert f.read_bytes() == before


def test_unsafe_fixes_only_when_asked(tmp_path):
    src = "import numpy as np\nfor t in range(3):\n    y = np.sqrt(float(t)) * 2\n"
    f = write(tmp_path / "m.py", src)
    proc = run("m.py", cwd=tmp_path)
    assert proc.returncode == 1 and f.read_text() == src
    assert b"[unsafe fix available: --unsafe-fixes]" in proc.stdout
    assert run("--unsafe-fixes", "m.py", cwd=tmp_path).returncode == 0
    assert "math.sqrt(float(t))" in f.read_text()


def test_select_and_ignore(tmp_path):
    f = write(tmp_path / "m.py", SLOW)
    assert run("--select", "PYF2", "m.py", cwd=tmp_path).returncode == 0
    assert f.read_text() == SLOW
    assert run("--ignore", "PYF101", "m.py", cwd=tmp_path).returncode == 0
    assert f.read_text() == SLOW
    bad = run("--select", "PYF999", "m.py", cwd=tmp_path)
    assert bad.returncode == 2 and b"unknown code or prefix 'PYF999'" in bad.stderr


def test_noqa_suppresses_fixes_and_reports(tmp_path):
    src = SLOW.replace("return np.abs(x) < 0.5", "return np.abs(x) < 0.5  # noqa: PYF101")
    f = write(tmp_path / "m.py", src)
    proc = run("m.py", cwd=tmp_path)
    assert proc.returncode == 0 and f.read_text() == src
    other = SLOW.replace("return np.abs(x) < 0.5", "return np.abs(x) < 0.5  # noqa: E501")
    write(tmp_path / "m.py", other)
    assert run("m.py", cwd=tmp_path).returncode == 0
    assert "abs(x) < 0.5  # noqa: E501" in f.read_text()


def test_config_from_pyproject(tmp_path):
    write(tmp_path / "pyproject.toml", textwrap.dedent("""\
        [tool.pyfast]
        ignore = ["PYF201"]
        exclude = ["vendored"]
        per-file-ignores = { "legacy/*" = ["PYF1"] }
        hot-functions = ["tick"]
        unsafe-fixes = true
        """))
    write(tmp_path / "a.py", UNFIXABLE)
    write(tmp_path / "vendored" / "v.py", SLOW)
    write(tmp_path / "legacy" / "l.py", SLOW)
    tick = write(tmp_path / "t.py", "import numpy as np\n\ndef tick(x: float):\n    return np.sqrt(x) * 2\n")
    proc = run(".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "vendored" / "v.py").read_text() == SLOW
    assert (tmp_path / "legacy" / "l.py").read_text() == SLOW
    assert "math.sqrt(x)" in tick.read_text()  # hot by configuration, fixed because unsafe-fixes = true
    assert run("--isolated", "t.py", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("selct = ['PYF']", b"unknown [tool.pyfast] key(s): selct"),
        ("ignore = ['PYF77']", b"unknown code or prefix 'PYF77'"),
        ("unsafe-fixes = 'yes'", b"unsafe-fixes must be true or false"),
        ("select = 3", b"select must be a list of strings"),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path, table, message):
    write(tmp_path / "pyproject.toml", f"[tool.pyfast]\n{table}\n")
    f = write(tmp_path / "m.py", SLOW)
    proc = run(".", cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and b"pyproject.toml" in proc.stderr
    assert f.read_text() == SLOW


def test_explicit_config_file(tmp_path):
    cfg = write(tmp_path / "cfg" / "pyproject.toml", "[tool.pyfast]\nignore = ['PYF1']\n")
    f = write(tmp_path / "m.py", SLOW)
    assert run("--config", str(cfg), "m.py", cwd=tmp_path).returncode == 0
    assert f.read_text() == SLOW
    assert run("--config", "missing.toml", "m.py", cwd=tmp_path).returncode == 2


def test_stdin_round_trip(tmp_path):
    proc = run("-", "--stdin-filename", "pkg/m.py", cwd=tmp_path, stdin=SLOW.encode())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == FIXED
    diff = run("-", "--diff", "--stdin-filename", "m.py", cwd=tmp_path, stdin=SLOW.encode())
    assert diff.returncode == 1 and b"+++ b/m.py" in diff.stdout


def test_stdin_syntax_error_gives_the_input_back(tmp_path):
    src = b"def broken(:\n    pass\n"
    proc = run("-", cwd=tmp_path, stdin=src)
    assert proc.returncode == 2
    assert proc.stdout == src
    assert b"syntax error at line 1" in proc.stderr


def test_syntax_error_file_is_reported_unchanged_and_others_still_fixed(tmp_path):
    broken = write(tmp_path / "broken.py", b"import numpy as np\nx = np.abs(\n")
    good = write(tmp_path / "good.py", SLOW)
    proc = run(".", cwd=tmp_path)
    assert proc.returncode == 2
    assert b"broken.py: error: syntax error at line" in proc.stderr
    assert broken.read_bytes() == b"import numpy as np\nx = np.abs(\n"
    assert good.read_text() == FIXED


def test_crlf_bom_and_coding_declaration_are_kept(tmp_path):
    crlf = write(tmp_path / "crlf.py", SLOW.replace("\n", "\r\n").encode())
    bom = write(tmp_path / "bom.py", b"\xef\xbb\xbf" + SLOW.encode())
    latin = write(tmp_path / "latin.py", ("# -*- coding: latin-1 -*-\n" + SLOW + "s = 'é'\n").encode("latin-1"))
    assert run(".", cwd=tmp_path).returncode == 0
    assert crlf.read_bytes() == FIXED.replace("\n", "\r\n").encode()
    assert bom.read_bytes() == b"\xef\xbb\xbf" + FIXED.encode()
    # the unused numpy import goes; the blank lines after it stay below the coding line
    assert latin.read_bytes() == ("# -*- coding: latin-1 -*-\n\n\n" + FIXED + "s = 'é'\n").encode("latin-1")


def test_file_mode_is_kept(tmp_path):
    f = write(tmp_path / "m.py", SLOW)
    f.chmod(0o750)
    assert run("m.py", cwd=tmp_path).returncode == 0
    assert f.stat().st_mode & 0o777 == 0o750


def test_output_formats(tmp_path):
    write(tmp_path / "m.py", UNFIXABLE)
    data = json.loads(run("--output-format", "json", "m.py", cwd=tmp_path).stdout)
    assert [f["code"] for f in data["findings"]] == ["PYF201"]
    assert data["findings"][0]["line"] == 5 and data["errors"] == []
    gh = run("--output-format", "github", "m.py", cwd=tmp_path).stdout.decode()
    assert gh.startswith("::warning file=m.py,line=5,col=12,")
    assert "title=PYF201::" in gh


def test_show_fixes_and_statistics(tmp_path):
    write(tmp_path / "m.py", SLOW)
    proc = run("--diff", "--show-fixes", "--statistics", "m.py", cwd=tmp_path)
    err = proc.stderr.decode()
    assert "m.py:6:12: PYF101 would fix (safe)" in err
    assert "PYF101        1      0" in err


def test_version_and_usage_errors(tmp_path):
    assert run("--version", cwd=tmp_path).stdout.startswith(b"pyfast-fix ")
    assert run("--jobs", "0", cwd=tmp_path).returncode == 2
    assert run("--diff", "--check", cwd=tmp_path).returncode == 2
    missing = run("nope.py", cwd=tmp_path)
    assert missing.returncode == 2 and b"nope.py: error: no such file or directory" in missing.stderr


def test_hook_mode_with_no_files_does_nothing(tmp_path):
    write(tmp_path / "m.py", SLOW)
    assert run("--no-default-path", cwd=tmp_path).returncode == 0
    assert (tmp_path / "m.py").read_text() == SLOW


def test_many_files_in_parallel(tmp_path):
    for i in range(12):
        write(tmp_path / f"p{i}" / "m.py", SLOW)
    proc = run("-j", "2", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert all((tmp_path / f"p{i}" / "m.py").read_text() == FIXED for i in range(12))
    assert b"Fixed 12 finding(s) in 12 file(s)" in proc.stderr


def test_libcst_codemod_command(tmp_path):
    f = write(tmp_path / "m.py", SLOW)
    proc = subprocess.run([sys.executable, "-m", "libcst.tool", "codemod", "-x", "--no-format",
                           "autofix.codemods.PYF101", str(f)], capture_output=True, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f.read_text() == FIXED


def test_pre_commit_hooks_are_declared():
    import yaml

    hooks = yaml.safe_load((Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text())
    ids = {h["id"]: h for h in hooks}
    assert set(ids) == {"pyfast-fix", "pyfast"}
    assert "--check" in ids["pyfast"]["entry"] and "--check" not in ids["pyfast-fix"]["entry"]
    assert all(h["entry"].startswith("pyfast-fix --no-default-path") for h in hooks)


def test_fast_diff_matches_difflib():
    import difflib
    import random

    from autofix.diff import unified_diff

    rng = random.Random(0)
    for _ in range(200):
        a = [f"line {rng.randint(0, 30)}\n" for _ in range(rng.randint(0, 60))]
        b = list(a)
        for _ in range(rng.randint(0, 8)):
            op = rng.choice(("insert", "delete", "replace"))
            k = rng.randint(0, len(b))
            if op == "insert":
                b.insert(k, f"new {rng.randint(0, 5)}\n")
            elif b and k < len(b):
                if op == "delete":
                    del b[k]
                else:
                    b[k] = f"changed {rng.randint(0, 5)}\n"
        ours = "".join(unified_diff(a, b, "a/x", "b/x"))
        # both are valid diffs of a into b: applying ours must give b, and it is empty exactly when theirs is
        theirs = "".join(difflib.unified_diff(a, b, "a/x", "b/x"))
        assert (ours == "") == (theirs == "")
        assert _apply_unified(a, ours) == b


def _apply_unified(a, diff):
    import re

    out, at = [], 0
    lines = diff.splitlines(keepends=True)[2:]
    for line in lines:
        m = re.match(r"@@ -(\d+)(?:,(\d+))? \+", line)
        if m:
            start = int(m.group(1)) - (0 if m.group(2) == "0" else 1)
            out.extend(a[at:start])
            at = start
        elif line.startswith(" "):
            out.append(line[1:])
            at += 1
        elif line.startswith("-"):
            at += 1
        elif line.startswith("+"):
            out.append(line[1:])
    out.extend(a[at:])
    return out

"""A fix rewrites only what it must: the user's own sub-expressions come out byte for byte.

Every fixable rule's bad examples are respelled (double-quoted strings, spaces inside every
bracket) and fixed; each sub-expression the documented fix keeps must appear in the output exactly
as the user wrote it. Hand-written cases add comments inside the expressions and the shapes from
the issue (``len(buf["obs"])`` in PYF401).
"""

from __future__ import annotations

import ast
import io
import tokenize

import pytest
from conftest import CASES

from autofix.engine import fix_source
from flake8_pyfast.rules import all_rules

FIXABLE = sorted(r.code for r in all_rules() if r.fixable != "no")
FIX_CASES = [c for c in CASES if c.kind == "bad" and c.example.fixed is not None]


def respell(source: str) -> str:
    """``source`` with double-quoted strings and a space inside each non-empty bracket pair."""
    lines = source.splitlines(keepends=True)
    toks = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)]
    edits: list[tuple[int, int, int, str]] = []  # (row, col, length replaced, text)
    for i, tok in enumerate(toks):
        (row, col), (erow, ecol) = tok.start, tok.end
        if tok.type == tokenize.STRING and tok.string[:1] == "'" and '"' not in tok.string and row == erow:
            if not tok.string.startswith("'''"):
                edits.append((row, col, len(tok.string), '"' + tok.string[1:-1] + '"'))
        elif tok.type == tokenize.OP and tok.string in "([" and i + 1 < len(toks):
            nxt = toks[i + 1]
            if nxt.string not in ")]" and nxt.start[0] == row:
                edits.append((row, ecol, 0, " "))
        elif tok.type == tokenize.OP and tok.string in ")]" and i:
            prev = toks[i - 1]
            if prev.string not in "([" and prev.end[0] == row:
                edits.append((row, col, 0, " "))
    for row, col, length, text in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[col + length:]
    return "".join(lines)


def _kept(code: str, fixed: str, new_code: str) -> list[tuple[str, str]]:
    """(original text, respelled text) of each sub-expression the documented fix keeps verbatim."""
    old_tree, new_tree = ast.parse(code), ast.parse(new_code)
    assert ast.dump(old_tree) == ast.dump(new_tree), "respelling changed the meaning"
    pairs = []
    for old, new in zip(ast.walk(old_tree), ast.walk(new_tree), strict=True):
        if not isinstance(old, ast.expr) or isinstance(old, ast.Name | ast.Constant):
            continue
        old_text = ast.get_source_segment(code, old)
        new_text = ast.get_source_segment(new_code, new)
        if old_text and new_text and old_text != new_text and old_text in fixed:
            pairs.append((old_text, new_text))
    return pairs


@pytest.mark.parametrize("bad", FIX_CASES, ids=[c.id for c in FIX_CASES])
def test_respelled_bad_examples_keep_the_users_text(bad):
    ex = bad.example
    new_code = respell(ex.code)
    before = fix_source(ex.code, unsafe=True)
    after = fix_source(new_code, unsafe=True)
    assert [f.code for f in after.applied] == [f.code for f in before.applied], "the respelled code was not fixed alike"
    for old_text, new_text in _kept(ex.code, ex.fixed, new_code):
        assert new_text in after.fixed, f"{old_text!r} was written {new_text!r} and did not survive"


def test_every_fixable_rule_is_covered_and_respelling_matters():
    assert {c.code for c in FIX_CASES} == set(FIXABLE)
    for code in FIXABLE:
        cases = [c for c in FIX_CASES if c.code == code]
        kept = [p for c in cases for p in _kept(c.example.code, c.example.fixed, respell(c.example.code))]
        hand = [h for h in HAND if h[0] == code]
        assert kept or hand, f"nothing of {code}'s examples is checked"
    assert {h[0] for h in HAND} == set(FIXABLE)


#: (rule, source, texts that must come out exactly as written, a text the fix must produce);
#: the comments sit inside sub-expressions the fix keeps (one it would drop blocks the fix)
HAND = [
    ("PYF401", """\
import torch
from torch.utils.data import BatchSampler, SubsetRandomSampler

for epoch in range(3):
    for idx in BatchSampler(SubsetRandomSampler(range(len(buf["obs"]))), bs, drop_last=False):
        pass
""", ['len(buf["obs"])', "bs"], 'torch.randperm(len(buf["obs"])).split(bs)'),
    ("PYF401", """\
import torch
from torch.utils.data import BatchSampler, SubsetRandomSampler

for epoch in range(3):
    for idx in BatchSampler(SubsetRandomSampler(range(len(  # rows
            buf[ "obs" ] ))), cfg.batch_size, drop_last=False):
        pass
""", ['len(  # rows\n            buf[ "obs" ] )', "cfg.batch_size"], ".split(cfg.batch_size)"),
    ("PYF101", """\
import numpy as np


def step(self, d: float):
    for t in range(3):
        r = np.sqrt(d * float(  # scale
            self.cfg[ "scale" ] ))
    return r
""", ['d * float(  # scale\n            self.cfg[ "scale" ] )'], "math.sqrt(d"),
    ("PYF102", """\
import numpy as np

x = np.ones(3)
for t in range(3):
    y = np.multiply(x[ 0:2 ], np.ones(  # ones
        2 ))
""", ["x[ 0:2 ]", "np.ones(  # ones\n        2 )"], "x[ 0:2 ] * np.ones("),
    ("PYF204", """\
import torch

buf = torch.zeros(10, 5)
with torch.no_grad():
    for t in range(10):
        buf = buf * float(cfg[ "decay" ])
        buf = buf.clamp(min = -1.0,  # lower
                        max = 2.0)
""", ['float(cfg[ "decay" ])', "min = -1.0,  # lower\n                        max = 2.0)"], "buf.clamp_("),
    ("PYF205", """\
import torch as th


def act(obs):
    for t in range(3):
        x = th.zeros(  # batch
            obs.shape[ 0 ], 4 ).to(obs.device)
""", ["th.zeros(  # batch\n            obs.shape[ 0 ], 4", "device=obs.device"], None),
    ("PYF205", """\
import torch


def act(obs, state):
    z = torch.zeros( state[ "h" ].shape )
    if obs[ "x" ].is_cuda:
        z = z.cuda()
    return z
""", ['torch.zeros( state[ "h" ].shape', 'device=obs[ "x" ].device'], None),
    ("PYF206", """\
import numpy as np
import torch as th

for t in range(3):
    a = th.tensor( np.asarray(  # features
        obs[ "state" ], dtype=np.float32), dtype=th.float32 )
""", ['np.asarray(  # features\n        obs[ "state" ], dtype=np.float32)', "th.from_numpy(", ".to(th.float32)"], None),
    ("PYF301", """\
import torch


def clip_grads(params, max_norm):
    total_norm = torch.norm(torch.stack([torch.norm(p.grad) for p in params]))
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef < 1:  # sync
        for p in params:
            p.grad.mul_(  # scale
                clip_coef )
    return total_norm


def step(self):
    clip_grads(self.params, 0.5)
    self.model.to(self.device)
""", ["# sync", "p.grad.mul_(  # scale\n", "clip_coef )"], "clip_coef = torch.clamp(clip_coef, max=1.0)"),
    ("PYF302", """\
import torch.distributions as D


def act(policy, obs):
    mu, std = policy( obs )
    dist = D.Normal(  # policy head
        mu, std.clamp( min=1e-3 ),  # floor
    )
    return dist.sample()
""", ["D.Normal(  # policy head\n        mu, std.clamp( min=1e-3 ),"], "validate_args=False,  # floor\n    )"),
    ("PYF303", """\
import torch as th
import torch.nn as nn

net = nn.Sequential( nn.Linear( 4, 2 ) )
for step in range( 100 ):
    # greedy action
    a = net(  # Q-values
        th.as_tensor( obs ),
    ).argmax( ).item( )  # to the env
    obs, r, done, info = env.step( a )
""", ["a = net(  # Q-values\n", "        th.as_tensor( obs ),\n        ).argmax( ).item( )  # to the env\n"],
     "    # greedy action\n    with th.no_grad():\n        a = net(  # Q-values\n"),
]


@pytest.mark.parametrize(("code", "source", "keep", "made"), HAND, ids=[f"{h[0]}-{i}" for i, h in enumerate(HAND)])
def test_hand_written_shapes_keep_the_users_text(code, source, keep, made):
    out = fix_source(source, unsafe=True)
    assert code in [f.code for f in out.applied], (code, [f.code for f in out.remaining])
    for text in keep:
        assert text in out.fixed, f"{text!r} did not survive:\n{out.fixed}"
    if made is not None:
        assert made in out.fixed, out.fixed


@pytest.mark.parametrize("unit", ["\t", "  ", "    "])
def test_a_new_block_is_indented_the_way_the_file_is(unit):
    # PYF303 wraps the forward in `with torch.no_grad():`: the new block's body takes the file's own
    # indent unit (tabs stay tabs; a tab plus a space is legal but not the user's style)
    source = (
        "import torch\nimport torch.nn as nn\n\n\nclass QNet(nn.Module):\n"
        f"{unit}def __init__(self):\n{unit * 2}super().__init__()\n{unit * 2}self.fc = nn.Linear(4, 2)\n\n"
        f"{unit}def forward(self, x):\n{unit * 2}return self.fc(x)\n\n\n"
        "def run(env, steps: int):\n"
        f"{unit}q = QNet()\n{unit}obs = env.reset()\n{unit}for _ in range(steps):\n"
        f"{unit * 2}action = q(torch.as_tensor(obs)).argmax().item()\n"
        f"{unit * 2}obs, reward, done, info = env.step(action)\n"
    )
    got = fix_source(source, unsafe=True)
    assert "PYF303" in [f.code for f in got.applied], [f.code for f in got.remaining]
    out = got.fixed
    ast.parse(out)
    assert f"{unit * 2}with torch.no_grad():\n{unit * 3}action = q(" in out, out
    assert fix_source(out, unsafe=True).fixed == out

"""VerifierError.hint: one rejected program per known reason, each loaded for real.

Each program in tests/bpf/verifier_hints*.bpf.c marks its failing line with
``/* HINT <key> */``; loading it alone must fail with that hint, naming that line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf.errors import VerifierError
from pybpf.loader.hints import HINTS, hint_for

SRC = Path(__file__).resolve().parents[1] / "bpf"
OBJECTS = ("verifier_hints", "verifier_hints_nongpl")
STRICT_ALIGNMENT = 1  # BPF_F_STRICT_ALIGNMENT, as on architectures without unaligned loads


def _marked() -> list[tuple[str, str, str, int]]:
    """(object, program, hint key, line) for each marked program."""
    out = []
    for obj in OBJECTS:
        text = (SRC / f"{obj}.bpf.c").read_text().splitlines()
        prog = None
        for no, line in enumerate(text, 1):
            m = re.match(r"^(?:__attribute__\(\(naked\)\) )?int (vh_\w+)\(", line)
            if m:
                prog = m.group(1)
            h = re.search(r"/\* HINT ([\w-]+) \*/", line)
            if h:
                assert prog is not None
                out.append((obj, prog, h.group(1), no))
    return out


MARKED = _marked()


def test_every_hint_has_a_program_and_there_are_at_least_15() -> None:
    assert len(HINTS) >= 15
    assert sorted(k for _, _, k, _ in MARKED) == sorted(h.key for h in HINTS)
    assert len({h.key for h in HINTS}) == len(HINTS)


@pytest.mark.parametrize(("obj_name", "prog", "key", "line"), MARKED, ids=[m[2] for m in MARKED])
def test_rejection_gets_its_hint(
    kernel: None, bpf_obj: Any, obj_name: str, prog: str, key: str, line: int
) -> None:
    with pybpf.open(bpf_obj(obj_name)) as obj:
        for p in obj.programs.values():
            p.autoload = p.name == prog
        if key == "misaligned-access":
            obj.programs[prog].flags |= STRICT_ALIGNMENT
        with pytest.raises(VerifierError) as info:
            obj.load()
    err = info.value
    assert err.hint_key == key, f"{prog}: hint {err.hint_key!r}, log ends:\n{err.log[-800:]}"
    assert err.hint and err.hint in str(err)
    hint = next(h for h in HINTS if h.key == key)
    if err.source:  # the hint names the line the error names
        assert f"{obj_name}.bpf.c:{line}" in err.source
        assert f"line {line} of {obj_name}.bpf.c" in err.hint or "{line}" not in hint.fix
    assert not re.search(r"[.!?] [A-Z]", err.hint) and err.hint.endswith(".")  # one sentence


def test_no_hint_for_an_unknown_reason() -> None:
    assert hint_for("0: (b7) r0 = 0\nsomething new the verifier says\n") is None


def test_docs_page_lists_every_hint_with_its_fix() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "verifier-hints.md").read_text()
    for h in HINTS:
        row = f"| `{h.key}` | {h.title} | {h.fix.format(line='the line named').replace('|', chr(92) + '|')} |"
        assert row in page, f"docs/verifier-hints.md: row of {h.key} missing or stale"

"""Inputs the fuzzer (scripts/fuzz.sh) once broke a reader with: each must now pass
or raise a pybpf error of its own (not a translated Python exception). Slow ones
(the C dumper's padding runs) are held by the dumper's output bound, checked here."""

from __future__ import annotations

from pathlib import Path

import fuzz_targets
import pytest
from fuzz_targets import TARGETS, Finding, run_one, seed_inputs, target_of

from pybpf.errors import BTFError

REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.bin"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_regression_input(path: Path) -> None:
    data = path.read_bytes()
    assert path.stem.startswith(target_of(data).replace("_", "-").split("-")[0])
    run_one(data)  # raises fuzz_targets.Finding on an untyped exception or unbounded output


def test_seeds_cover_every_target(bpf_objects: Path) -> None:
    seeds = {target_of(d) for _, d in seed_inputs(bpf_objects, kernel_slices=False)}
    assert seeds == set(TARGETS)


def test_seeds_pass(bpf_objects: Path) -> None:
    """The unmutated seeds go through every target without a finding."""
    n = 0
    for _name, data in seed_inputs(bpf_objects, kernel_slices=False):
        if len(data) <= 1 << 16:
            run_one(data)
            n += 1
    assert n > 50


def test_harness_flags_untyped_and_translated_exceptions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule the fuzzer enforces: an untyped exception, or a reader's last-resort
    translation of one (``unexpected=True``), is a finding; a typed error is not, with
    or without the cause it keeps."""

    def untyped(_payload: bytes) -> None:
        raise IndexError("index out of range")

    def wrapped(_payload: bytes) -> None:
        try:
            untyped(b"")
        except IndexError as exc:
            raise BTFError("malformed", unexpected=True) from exc

    def typed(_payload: bytes) -> None:
        try:
            untyped(b"")
        except IndexError as exc:
            raise BTFError("bad magic", section=".BTF", offset=0) from exc

    sel = bytes([TARGETS.index("btf")])
    monkeypatch.setitem(fuzz_targets._RUN, "btf", untyped)
    with pytest.raises(Finding, match="untyped IndexError"):
        run_one(sel)
    monkeypatch.setitem(fuzz_targets._RUN, "btf", wrapped)
    with pytest.raises(Finding, match="BTFError wraps IndexError"):
        run_one(sel)
    monkeypatch.setitem(fuzz_targets._RUN, "btf", typed)
    run_one(sel)

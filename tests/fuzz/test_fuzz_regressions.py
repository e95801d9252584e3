"""Inputs the fuzzer (scripts/fuzz.sh) once broke a reader with: each must now pass
or raise a pybpf error of its own (not a translated Python exception). Slow ones
(the C dumper's padding runs) are held by the dumper's output bound, checked here."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_targets import TARGETS, run_one, seed_inputs, target_of

REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.bin"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_regression_input(path: Path) -> None:
    data = path.read_bytes()
    assert path.stem.startswith(target_of(data).replace("_", "-").split("-")[0])
    run_one(data)  # raises fuzz_targets.Finding on an untyped exception or unbounded output


def test_every_target_has_a_regression_or_seed(bpf_objects: Path) -> None:
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

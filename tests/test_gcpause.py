"""The collector pause around open/load/attach: off inside, restored after (also on
errors and when nested), and left alone when the caller had it off."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import pybpf
from pybpf._gcpause import paused, pausing
from pybpf.errors import BPFError


def test_paused_disables_and_restores_even_on_error() -> None:
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():  # nested: the inner exit must not turn it back on early
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_collector_already_off_stays_off() -> None:
    gc.disable()
    try:
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pausing_keeps_the_function_and_its_result() -> None:
    @pausing
    def f(x: int, *, y: int = 1) -> tuple[int, bool]:
        """Doc."""
        return x + y, gc.isenabled()

    assert f(1, y=2) == (3, False) and gc.isenabled()
    assert f.__name__ == "f" and f.__doc__ == "Doc."


def test_open_of_a_bad_file_leaves_the_collector_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bpf.o"
    bad.write_bytes(b"not an ELF file")
    with pytest.raises(BPFError):
        pybpf.open(bad)
    assert gc.isenabled()

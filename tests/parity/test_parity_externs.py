"""Externs are resolved per program: what only autoload=False programs use is skipped.

libbpf resolves every extern of the object, so one missing strong ksym fails the
whole load (the reference loader shows it); pybpf resolves the ksyms and kfuncs the
loaded programs reference, as cilium/ebpf does.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

import pybpf
from pybpf.errors import ExternError

pytestmark = pytest.mark.usefixtures("kernel")


def test_missing_strong_ksym_of_unloaded_program_is_skipped(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_externs"))
    obj.programs["needs_missing"].autoload = False
    obj.globals["lookup_pid"] = os.getpid()
    with obj.load():
        assert not obj.programs["needs_missing"].loaded
        assert obj.programs["plain"].test_run().retval == 0
        assert obj.globals["found_task"] == 1  # the present kfunc found this process
        assert obj.globals["weak_kfunc"] == 0  # missing weak kfunc: 0
        assert obj.globals["weak_sym"] == 0  # missing weak typeless ksym: 0


def test_missing_strong_ksym_of_loaded_program_fails(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_externs"))
    with pytest.raises(
        ExternError, match=r"bpf_pybpf_parity_missing_kfunc|pybpf_parity_missing_sym"
    ):
        obj.load()
    obj.close()


def test_missing_typeless_ksym_is_named(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_externs"))
    obj.programs["plain"].autoload = False
    with pytest.raises(ExternError) as exc:
        obj.load()
    obj.close()
    assert "pybpf_parity_missing" in str(exc.value)


def test_libbpf_refuses_what_pybpf_skips(libbpf_load: Callable[..., str], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """The reference: libbpf (1.1 here, and current libbpf, which also resolves every
    extern in bpf_object__resolve_externs) refuses the object even with the program off."""
    assert libbpf_load("-n", "needs_missing", bpf_obj("parity_externs")).startswith("ERR")

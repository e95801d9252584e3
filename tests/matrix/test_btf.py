"""Kernel matrix: an object's BTF reaches every kernel (sanitized for what it lacks), and
a fallback to loading without BTF is loud: a BTFFallbackWarning and ``obj.btf_loaded``."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from tests.matrix.conftest import has

import pybpf
from pybpf.elf.spec import ObjectSpec
from pybpf.errors import BTFFallbackWarning, KernelError
from pybpf.plan import btf_sanitize
from pybpf.plan.btf_sanitize import sanitize_overrides
from pybpf.sys.btf import btf_load

pytestmark = pytest.mark.matrix


def test_signed_enum_flag_is_cleared_without_enum64(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    btf = ObjectSpec.from_file(bpf_obj("matrix_btf")).btf
    assert btf is not None
    (tid,) = btf.find("mx_signed")
    assert btf[tid].signed
    new = sanitize_overrides(btf, {"enum64": False})[tid]
    assert not new.signed and new.values == btf[tid].values
    assert tid not in sanitize_overrides(btf, {"enum64": True})


def test_object_btf_loads_on_every_kernel(bpf_obj, kernel: None) -> None:  # type: ignore[no-untyped-def]
    """5.10 refuses the raw BTF (signed enum); pybpf's sanitized BTF loads everywhere."""
    btf = ObjectSpec.from_file(bpf_obj("matrix_btf")).btf
    assert btf is not None
    if not has("6.0"):
        with pytest.raises(KernelError):
            btf_load(btf.encode())  # what the old sanitizer sent: refused
    with warnings.catch_warnings():
        warnings.simplefilter("error", BTFFallbackWarning)
        with pybpf.load(bpf_obj("matrix_btf")) as obj:
            assert obj.btf_loaded and obj.btf_error is None
            prog = obj.programs["mx_btf_prog"]
            assert prog.test_run(b"\0" * 64).retval == 2  # XDP_PASS
            assert obj.globals["mx_seen"] == -2
            assert prog.info().btf_id != 0  # func info went with the program


def test_fallback_without_btf_is_loud(bpf_obj, kernel: None, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """When the kernel refuses the object's BTF, loading goes on without it, warning."""
    monkeypatch.setattr(btf_sanitize, "sanitize_btf", lambda btf, kinds: b"\x9f\xeb\x01\x00bad")
    with pytest.warns(BTFFallbackWarning, match="loading without BTF") as rec:
        obj = pybpf.load(bpf_obj("matrix_btf"))
    with obj:
        assert not obj.btf_loaded
        assert obj.btf_error and "refused" in obj.btf_error
        assert "matrix_btf" in str(rec[0].message)
        prog = obj.programs["mx_btf_prog"]
        assert prog.test_run(b"\0" * 64).retval == 2
        assert prog.info().btf_id == 0


def test_btf_info_on_every_kernel(bpf_obj, kernel: None) -> None:  # type: ignore[no-untyped-def]
    """BTF info works before 5.11 too, whose shorter ``bpf_btf_info`` (no name) refuses the
    longer one with E2BIG; the id is the one the kernel shows in the fd's fdinfo."""
    from pybpf.plan.btf_sanitize import sanitize_btf
    from pybpf.sys import features
    from pybpf.sys.info import btf_info

    btf = ObjectSpec.from_file(bpf_obj("matrix_btf")).btf
    assert btf is not None
    with btf_load(sanitize_btf(btf, features.btf_kinds())) as fd:
        info = btf_info(fd)
        lines = Path(f"/proc/self/fdinfo/{fd.fileno()}").read_text().splitlines()
        fdinfo = dict(line.split(":\t", 1) for line in lines)
        assert info.id == int(fdinfo["btf_id"]) and info.id > 0
        assert info.size > 0 and info.name == "" and not info.kernel_btf

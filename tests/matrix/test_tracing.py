"""Kernel matrix: trampolines (fentry, fexit, fmod_ret), BPF LSM, bpf_loop and module
BTF. They run on 5.10/6.1/6.12 and give the clear error where the kernel lacks them
(this host refuses trampolines; 5.10 has no module BTF nor bpf_loop).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from tests.matrix.conftest import IN_VM, has, kprobes, trampolines

import pybpf
from pybpf.errors import CoreRelocationError, NotSupportedError

pytestmark = [pytest.mark.matrix, pytest.mark.kernel]

C_FENTRY, C_FEXIT, C_MODRET, C_LSM = range(4)


def test_fentry_fexit_see_arguments_and_return(bpf_obj, tmp_path, target: int) -> None:  # type: ignore[no-untyped-def]
    if not trampolines():
        with pytest.raises(NotSupportedError, match="trampoline"):
            pybpf.load(bpf_obj("matrix_tramp"))
        return
    with pybpf.load(bpf_obj("matrix_tramp")) as obj:
        g = obj.globals
        dirfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        g["mx_pid"], g["mx_dfd"] = target, dirfd
        flags = os.O_CREAT | os.O_RDWR | os.O_CLOEXEC
        try:
            with obj.programs["mx_fentry"].attach(), obj.programs["mx_fexit"].attach() as fx:
                assert fx.kind == "fexit"
                fd = os.open("f", flags, 0o600, dir_fd=dirfd)
                os.close(fd)
        finally:
            os.close(dirfd)
        counts, last = list(g["counts"]), list(g["last"])
        assert counts[C_FENTRY] == 1 and last[C_FENTRY] & ~0o100000 == flags
        assert counts[C_FEXIT] == 1 and last[C_FEXIT] == fd


def test_fmod_ret_replaces_the_return_value(bpf_obj, tmp_path, target: int) -> None:  # type: ignore[no-untyped-def]
    """fmod_ret on security_file_open: returning -EPERM skips it and fails the open."""
    if not trampolines():
        with pytest.raises(NotSupportedError, match="trampoline"):
            pybpf.load(bpf_obj("matrix_tramp"))
        return
    path = tmp_path / "guarded"
    path.write_text("y")
    with pybpf.load(bpf_obj("matrix_tramp")) as obj:
        g = obj.globals
        g["mx_pid"] = target
        with obj.programs["mx_modret"].attach() as link:
            assert link.kind == "fmod_ret"
            assert path.read_text() == "y"
            g["mx_deny"] = 2
            with pytest.raises(PermissionError):
                path.read_text()
            g["mx_deny"] = 0
        assert path.read_text() == "y"
        assert g["counts"][C_MODRET] >= 2  # our opens (Python may open more: lazy imports)


def test_bpf_lsm_denies_an_open(bpf_obj, tmp_path, target: int) -> None:  # type: ignore[no-untyped-def]
    """lsm/file_open (boot with lsm=...,bpf): sees our opens, and denies them on request."""
    lsm_list = "/sys/kernel/security/lsm"
    lsms = Path(lsm_list).read_text().split(",") if os.path.exists(lsm_list) else []
    if IN_VM:
        assert "bpf" in lsms, lsms
    if not trampolines():
        with pytest.raises(NotSupportedError, match="trampoline"):
            pybpf.load(bpf_obj("matrix_tramp"))
        return
    path = tmp_path / "secret"
    path.write_text("x")
    with pybpf.load(bpf_obj("matrix_tramp")) as obj:
        g = obj.globals
        g["mx_pid"] = target
        with obj.programs["mx_lsm"].attach() as link:
            assert link.kind == "lsm"
            with open(path) as f:
                assert f.read() == "x"
            g["mx_deny"] = 1
            with pytest.raises(PermissionError):
                open(path).close()
            g["mx_deny"] = 0
        open(path).close()  # detached
        assert g["counts"][C_LSM] >= 2  # our opens (Python may open more: lazy imports)
        assert g["last"][C_LSM] & os.O_ACCMODE == os.O_RDONLY


def test_bpf_loop(bpf_obj, kernel: None) -> None:  # type: ignore[no-untyped-def]
    """bpf_loop (5.17): 100 calls of the callback."""
    if not has("5.17"):
        with pytest.raises(NotSupportedError) as exc:
            pybpf.load(bpf_obj("matrix_loop"))
        assert exc.value.min_kernel == "5.17" and "bpf_loop" in str(exc.value)
        return
    with pybpf.load(bpf_obj("matrix_loop")) as obj:
        res = obj.programs["mx_loop"].test_run(b"\0" * 64)
        assert res.retval == 2  # XDP_PASS
        assert obj.globals["loop_sum"] == sum(range(100))


def _9p_msize() -> int | None:
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "9p" and fields[1] == "/":
                m = re.search(r"msize=(\d+)", fields[3])
                return int(m.group(1)) if m else None
    return None


def test_module_btf_core_on_a_module_function(bpf_obj, target: int) -> None:  # type: ignore[no-untyped-def]
    """A kprobe on 9pnet's p9_client_getattr_dotl reading fid->clnt->msize with CO-RE
    against the module's split BTF (/sys/kernel/btf/9pnet): the mount's msize=."""
    from pybpf.btf import BTF

    msize = _9p_msize()
    if msize is None:  # this host: no 9p root (9pnet not loaded), no kprobes
        assert not IN_VM
        if not os.path.exists("/sys/kernel/btf/9pnet"):
            with pytest.raises(CoreRelocationError, match=r"p9_fid\.clnt"):
                pybpf.load(bpf_obj("matrix_module"))
            return
        with (
            pybpf.load(bpf_obj("matrix_module")) as obj,
            pytest.raises(NotSupportedError, match="CONFIG_KPROBES"),
        ):
            obj.programs["mx_p9_getattr"].attach()
        return
    if not os.path.exists("/sys/kernel/btf/9pnet"):
        assert not has("5.11")  # module BTF came with 5.11
        with pytest.raises(CoreRelocationError, match=r"p9_fid\.clnt"):
            pybpf.load(bpf_obj("matrix_module"))
        return
    split = BTF.load_module("9pnet")  # split BTF on top of vmlinux's
    assert split.find("p9_client_getattr_dotl") and split.find("p9_fid")
    assert not BTF.load_vmlinux().find("p9_fid")
    assert kprobes()
    with pybpf.load(bpf_obj("matrix_module")) as obj:
        obj.globals["mx_pid"] = target
        with obj.programs["mx_p9_getattr"].attach():
            for _ in range(3):
                os.stat("/usr/bin")
        assert obj.globals["hits"] >= 1
        assert obj.globals["msize"] == msize


def test_freplace_replaces_a_global_function(bpf_obj, kernel: None) -> None:  # type: ignore[no-untyped-def]
    """freplace (an EXT program) swaps a global function of another loaded program."""
    with pybpf.load(bpf_obj("matrix_freplace_target")) as target:
        prog = target.programs["mx_target"]
        assert prog.test_run(b"\0" * 64).retval == 2
        assert target.globals["mx_result"] == 42
        ext = pybpf.open(bpf_obj("matrix_freplace"))
        try:
            ext.programs["mx_replacement"].set_attach_target(prog, "mx_handler")
            if not trampolines():
                with pytest.raises(NotSupportedError, match="trampoline"):
                    ext.load()
                return
            ext.load()
            with ext.programs["mx_replacement"].attach() as link:
                assert link.kind == "freplace"
                prog.test_run(b"\0" * 64)
                assert target.globals["mx_result"] == 410
            prog.test_run(b"\0" * 64)
            assert target.globals["mx_result"] == 42
        finally:
            ext.close()

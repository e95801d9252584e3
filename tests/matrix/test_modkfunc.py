"""Kernel matrix: a kfunc that lives in a module. nf_conntrack's ``bpf_xdp_ct_lookup`` and
``bpf_ct_release`` (5.18+) resolve against ``/sys/kernel/btf/nf_conntrack`` on Debian's 6.1
and 6.12 (nf_conntrack=m), the loader passes that module's BTF fd in fd_array, and the
kernel runs the lookup. Where nf_conntrack is built in (this host) they resolve in vmlinux;
5.10 has neither the kfuncs nor module BTF: the clear error."""

from __future__ import annotations

import os
import struct
import subprocess

import pytest
from tests.matrix.conftest import IN_VM, has

import pybpf
from pybpf.btf import BTF, kernel_btf
from pybpf.btf.types import Kind
from pybpf.errors import ExternError

pytestmark = pytest.mark.matrix

MODULE = "nf_conntrack"
MODULE_BTF = f"/sys/kernel/btf/{MODULE}"
ENOENT = 2
XDP_PASS = 2


def _kfunc_home() -> str | None:
    """Where the running kernel keeps the conntrack kfuncs: the module, vmlinux or nowhere.

    Loads nf_conntrack first when it is a module that is not loaded yet (the guests do
    not autoload it)."""
    if not os.path.exists(MODULE_BTF) and os.path.isdir("/lib/modules"):
        subprocess.run(["modprobe", "-q", MODULE], check=False, capture_output=True)
    if os.path.exists(MODULE_BTF):
        return MODULE
    if kernel_btf().find("bpf_xdp_ct_lookup", Kind.FUNC):
        return "vmlinux"
    return None


def _packet(dport: int) -> bytes:
    """Ethernet + IPv4 + TCP SYN 10.0.0.1:40000 -> 10.0.0.2:dport."""
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + struct.pack("!H", 0x0800)
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    )
    tcp = struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, 5 << 4, 0x02, 1024, 0, 0)
    return eth + ip + tcp


def test_module_kfunc_resolves_in_module_btf_and_runs(  # type: ignore[no-untyped-def]
    bpf_obj, kernel: None
) -> None:
    """The lookup finds no entry for a fresh 4-tuple: NULL with opts.error = -ENOENT,
    written by the kernel's nf_conntrack code (the program starts it at 1)."""
    home = _kfunc_home()
    if home is None:
        assert not has("5.18") or not IN_VM, "Debian's 6.x kernels have nf_conntrack kfuncs"
        with pytest.raises(ExternError, match=r"kfunc 'bpf_xdp_ct_lookup___mx'.*not found"):
            pybpf.load(bpf_obj("matrix_modkfunc"))
        return
    assert has("5.18")
    if IN_VM:
        assert home == MODULE  # Debian builds nf_conntrack as a module, with BTF
    dport = 20000 + os.getpid() % 10000
    with pybpf.load(bpf_obj("matrix_modkfunc")) as obj:
        assert obj.plan is not None  # the ksyms as the planner resolved them
        seen = obj.plan.ksyms
        lookup, release = seen["bpf_xdp_ct_lookup___mx"], seen["bpf_ct_release___mx"]
        assert lookup.found and lookup.kind == "kfunc" and lookup.btf_name == home
        assert release.found and release.btf_name == home
        assert lookup.in_module == (home == MODULE)
        # the ids are the kernel's own: that BTF's FUNCs of these names
        kbtf = BTF.load_module(MODULE) if home == MODULE else kernel_btf()
        assert kbtf.find("bpf_xdp_ct_lookup", Kind.FUNC) == [lookup.btf_id]
        assert kbtf.find("bpf_ct_release", Kind.FUNC) == [release.btf_id]
        if home == MODULE:
            assert not kernel_btf().find("bpf_xdp_ct_lookup", Kind.FUNC)
        prog = obj.programs["mx_ct_lookup"]
        assert obj.globals["mx_ct_error"] == 1
        assert prog.test_run(_packet(dport)).retval == XDP_PASS
        assert obj.globals["mx_ct_dport"] == dport
        assert obj.globals["mx_ct_found"] == 0
        assert obj.globals["mx_ct_error"] == -ENOENT

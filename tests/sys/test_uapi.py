"""The generated UAPI enums: regenerating from the running kernel gives the committed
module, and helper ids agree with libbpf's bpf_helper_defs.h."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import need

from pybpf.uapi import enums, gen

HELPER_DEFS = Path("/usr/include/bpf/bpf_helper_defs.h")


def test_regenerating_from_running_kernel_matches_committed_module() -> None:
    need(Path("/sys/kernel/btf/vmlinux").exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    from pybpf.btf import BTF

    assert gen.render(BTF.load_vmlinux()) == gen.OUTPUT.read_text(), (
        "src/pybpf/uapi/enums.py is stale: run python -m pybpf.uapi.gen --write"
    )


def test_check_mode_of_generator_passes() -> None:
    need(Path("/sys/kernel/btf/vmlinux").exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    assert gen.main(["--check"]) == 0


def test_helper_ids_agree_with_libbpf_helper_defs() -> None:
    need(HELPER_DEFS.exists(), "libbpf-dev headers (the reference helper ids) are not installed")
    # libbpf declares each helper as: static T (*[const] bpf_NAME)(...) = (void *) ID;
    decl = re.compile(
        r"\(\s*\*\s*(?:const\s+)?bpf_(\w+)\)\s*\(.*?\)\s*=\s*\(void \*\)\s*(\d+);", re.S
    )
    found = dict(decl.findall(HELPER_DEFS.read_text()))
    assert len(found) > 150
    for name, value in found.items():
        if name in enums.FuncId.__members__:
            assert enums.FuncId[name] == int(value), name
    # every helper libbpf knows is known to the kernel we generated from
    missing = sorted(set(found) - set(enums.FuncId.__members__))
    assert not missing, missing


def test_names_drop_c_prefixes_and_sentinels() -> None:
    assert enums.Cmd.MAP_CREATE == 0 and enums.Cmd.PROG_LOAD == 5
    assert enums.MapType.HASH == 1 and enums.ProgType.SOCKET_FILTER == 1
    assert enums.FuncId.map_lookup_elem == 1
    assert enums.AttachType.CGROUP_INET_INGRESS == 0
    for cls in (enums.Cmd, enums.MapType, enums.ProgType, enums.AttachType, enums.LinkType):
        assert not [m for m in cls.__members__ if m.startswith("_") or "MAX" in m], cls
    assert "MAX" not in enums.BtfKind.__members__
    # the non-deprecated alias is the canonical name
    assert enums.MapType(enums.MapType.CGROUP_STORAGE).name == "CGROUP_STORAGE"


def test_flags_are_int_flags() -> None:
    f = enums.MapFlags.NO_PREALLOC | enums.MapFlags.MMAPABLE
    assert int(f) == 1 | 1024
    assert enums.UpdateFlags.F_LOCK == 4
    assert enums.ProgFlags.SLEEPABLE == 16 and enums.AttachFlags.ALLOW_MULTI == 2
    assert enums.XdpFlags.SKB_MODE == 2

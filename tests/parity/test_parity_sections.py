"""Section names: libbpf's table (v1.7.0's ``section_defs``, less ``fsession``, whose
attach type this kernel lacks) and names with a slash.

Every rule of pybpf's table is compared with what the installed libbpf (1.1) makes
of the same name through ``libbpf_prog_type_by_name``; names libbpf 1.1 does not
know must be rules added since (checked against libbpf v1.7.0's libbpf.c).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import pybpf
from pybpf.elf.sections import SECTION_DEFS, SecFlag, SectionDef, match_section
from pybpf.uapi.enums import AttachType, ProgType

# Rules libbpf 1.1 lacks (all in libbpf v1.7.0's table except the deprecated xdp_*map/
# spellings of libbpf 0.x and the sleepable tracepoints of libbpf 1.8-dev).
NEWER_THAN_1_1 = {
    "kprobe.session+",
    "uprobe.multi+",
    "uretprobe.multi+",
    "uprobe.session+",
    "uprobe.multi.s+",
    "uretprobe.multi.s+",
    "uprobe.session.s+",
    "usdt.s+",
    "tc/ingress",
    "tc/egress",
    "tcx/ingress",
    "tcx/egress",
    "netkit/primary",
    "netkit/peer",
    "tracepoint.s+",
    "tp.s+",
    "raw_tracepoint.s+",
    "raw_tp.s+",
    "tp_btf.s+",
    "xdp_devmap/",
    "xdp_cpumap/",
    "sk_skb/verdict",
    "cgroup/connect_unix",
    "cgroup/sendmsg_unix",
    "cgroup/recvmsg_unix",
    "cgroup/getpeername_unix",
    "cgroup/getsockname_unix",
    "struct_ops.s+",
    "netfilter",
}


def _example(d: SectionDef) -> str:
    if d.pattern.endswith("+"):
        return d.base + "/x"
    if d.pattern.endswith("/"):
        return d.pattern + "x"
    return d.pattern


def test_table_matches_libbpf(libbpf_load: Callable[..., str]) -> None:
    names = [_example(d) for d in SECTION_DEFS]
    out = _by_name(libbpf_load, names)
    for d, name in zip(SECTION_DEFS, names, strict=True):
        got = out[name]
        if d.pattern in NEWER_THAN_1_1:
            assert got.startswith("ERR"), f"{name}: libbpf 1.1 knows it: {got}"
            continue
        info = match_section(name)
        assert not info.legacy, name
        attach = int(info.expected_attach_type) if info.expected_attach_type is not None else 0
        assert got == f"{int(info.prog_type)} {attach}", name


def _by_name(libbpf_load: Callable[..., str], names: list[str]) -> dict[str, str]:
    lines = libbpf_load("-t", *names).splitlines()
    return dict(zip(names, lines, strict=True))


@pytest.mark.parametrize(
    ("name", "ptype", "attach"),
    [
        ("sk_lookup/", ProgType.SK_LOOKUP, AttachType.SK_LOOKUP),
        ("socket/filter_a", ProgType.SOCKET_FILTER, None),
        ("syscall/named", ProgType.SYSCALL, None),
        ("xdp/extra", ProgType.XDP, AttachType.XDP),
        ("xdp.frags/extra", ProgType.XDP, AttachType.XDP),
        ("cgroup/connect4/", ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT),
    ],
)
def test_exact_rule_with_slash(name: str, ptype: ProgType, attach: AttachType | None) -> None:
    info = match_section(name)
    assert (info.prog_type, info.expected_attach_type) == (ptype, attach)
    assert info.legacy  # not a strict libbpf match
    if name.startswith("xdp.frags"):
        assert info.flags & SecFlag.XDP_FRAGS


def test_libbpf_1_1_has_no_type_for_slash_names(libbpf_load: Callable[..., str]) -> None:
    names = ["sk_lookup/", "syscall/named", "xdp/extra"]
    assert all(ln.startswith("ERR") for ln in _by_name(libbpf_load, names).values())


@pytest.mark.usefixtures("kernel")
def test_slash_sections_load_and_run(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("parity_sections")) as obj:
        assert obj.programs["lookup_slash"].prog_type == ProgType.SK_LOOKUP
        assert all(p.loaded for p in obj.programs.values())
        assert obj.programs["socket_extra"].test_run(bytes(60)).retval == 60 - 14  # no L2
        assert obj.programs["syscall_extra"].test_run().retval == 42
        assert obj.programs["xdp_extra"].test_run(bytes(64)).retval == 2  # XDP_PASS

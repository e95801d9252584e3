"""The section-name table: every rule, the legacy prefixes, target parsing, errors."""

from __future__ import annotations

import pytest

from pybpf.elf.sections import (
    SECTION_DEFS,
    AttachKind,
    KprobeTarget,
    NameTarget,
    PatternTarget,
    SyscallTarget,
    TracepointTarget,
    UprobeMultiTarget,
    UprobeTarget,
    UsdtTarget,
    match_section,
)
from pybpf.errors import ObjectError
from pybpf.uapi.enums import AttachType as A
from pybpf.uapi.enums import ProgType as P

S = "sleepable"
F = "frags"
# (section name, matched rule, prog type, expected attach type, attach kind, properties)
CASES: list[tuple[str, str, P, A | None, AttachKind, frozenset[str]]] = [
    ("socket", "socket", P.SOCKET_FILTER, None, AttachKind.SOCKET, frozenset()),
    ("sk_reuseport/migrate", "sk_reuseport/migrate", P.SK_REUSEPORT,
     A.SK_REUSEPORT_SELECT_OR_MIGRATE, AttachKind.SK_REUSEPORT, frozenset()),
    ("sk_reuseport", "sk_reuseport", P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT,
     AttachKind.SK_REUSEPORT, frozenset()),
    ("kprobe/do_sys_open", "kprobe", P.KPROBE, None, AttachKind.KPROBE, frozenset()),
    ("uprobe//bin/sh:main", "uprobe", P.KPROBE, None, AttachKind.UPROBE, frozenset()),
    ("uprobe.s//bin/sh:main", "uprobe.s", P.KPROBE, None, AttachKind.UPROBE, frozenset({S})),
    ("kretprobe/do_sys_open", "kretprobe", P.KPROBE, None, AttachKind.KPROBE, frozenset()),
    ("uretprobe//bin/sh:main", "uretprobe", P.KPROBE, None, AttachKind.UPROBE, frozenset()),
    ("uretprobe.s//bin/sh:main", "uretprobe.s", P.KPROBE, None, AttachKind.UPROBE,
     frozenset({S})),
    ("kprobe.multi/tcp_*", "kprobe.multi", P.KPROBE, A.TRACE_KPROBE_MULTI,
     AttachKind.KPROBE_MULTI, frozenset()),
    ("kretprobe.multi/tcp_*", "kretprobe.multi", P.KPROBE, A.TRACE_KPROBE_MULTI,
     AttachKind.KPROBE_MULTI, frozenset()),
    ("kprobe.session/vfs_*", "kprobe.session", P.KPROBE, A.TRACE_KPROBE_SESSION,
     AttachKind.KPROBE_SESSION, frozenset()),
    ("uprobe.multi//bin/sh:ma*", "uprobe.multi", P.KPROBE, A.TRACE_UPROBE_MULTI,
     AttachKind.UPROBE_MULTI, frozenset()),
    ("uretprobe.multi//bin/sh:ma*", "uretprobe.multi", P.KPROBE, A.TRACE_UPROBE_MULTI,
     AttachKind.UPROBE_MULTI, frozenset()),
    ("uprobe.session//bin/sh:main", "uprobe.session", P.KPROBE, A.TRACE_UPROBE_SESSION,
     AttachKind.UPROBE_MULTI, frozenset()),
    ("uprobe.multi.s//bin/sh:ma*", "uprobe.multi.s", P.KPROBE, A.TRACE_UPROBE_MULTI,
     AttachKind.UPROBE_MULTI, frozenset({S})),
    ("uretprobe.multi.s//bin/sh:ma*", "uretprobe.multi.s", P.KPROBE, A.TRACE_UPROBE_MULTI,
     AttachKind.UPROBE_MULTI, frozenset({S})),
    ("uprobe.session.s//bin/sh:main", "uprobe.session.s", P.KPROBE, A.TRACE_UPROBE_SESSION,
     AttachKind.UPROBE_MULTI, frozenset({S})),
    ("ksyscall/execve", "ksyscall", P.KPROBE, None, AttachKind.KSYSCALL, frozenset()),
    ("kretsyscall/execve", "kretsyscall", P.KPROBE, None, AttachKind.KSYSCALL, frozenset()),
    ("usdt/libc.so.6:libc:setjmp", "usdt", P.KPROBE, None, AttachKind.USDT, frozenset()),
    ("usdt.s/libc.so.6:libc:setjmp", "usdt.s", P.KPROBE, None, AttachKind.USDT,
     frozenset({S})),
    ("tc/ingress", "tc/ingress", P.SCHED_CLS, A.TCX_INGRESS, AttachKind.TCX, frozenset()),
    ("tc/egress", "tc/egress", P.SCHED_CLS, A.TCX_EGRESS, AttachKind.TCX, frozenset()),
    ("tcx/ingress", "tcx/ingress", P.SCHED_CLS, A.TCX_INGRESS, AttachKind.TCX, frozenset()),
    ("tcx/egress", "tcx/egress", P.SCHED_CLS, A.TCX_EGRESS, AttachKind.TCX, frozenset()),
    ("tc", "tc", P.SCHED_CLS, None, AttachKind.TC, frozenset()),
    ("classifier", "classifier", P.SCHED_CLS, None, AttachKind.TC, frozenset()),
    ("action", "action", P.SCHED_ACT, None, AttachKind.TC, frozenset()),
    ("netkit/primary", "netkit/primary", P.SCHED_CLS, A.NETKIT_PRIMARY, AttachKind.NETKIT,
     frozenset()),
    ("netkit/peer", "netkit/peer", P.SCHED_CLS, A.NETKIT_PEER, AttachKind.NETKIT, frozenset()),
    ("tracepoint/sched/sched_switch", "tracepoint", P.TRACEPOINT, None, AttachKind.TRACEPOINT,
     frozenset()),
    ("tp/sched/sched_switch", "tp", P.TRACEPOINT, None, AttachKind.TRACEPOINT, frozenset()),
    ("tracepoint.s/syscalls/sys_enter_openat", "tracepoint.s", P.TRACEPOINT, None,
     AttachKind.TRACEPOINT, frozenset({S})),
    ("tp.s/syscalls/sys_enter_openat", "tp.s", P.TRACEPOINT, None, AttachKind.TRACEPOINT,
     frozenset({S})),
    ("raw_tracepoint/sys_enter", "raw_tracepoint", P.RAW_TRACEPOINT, None,
     AttachKind.RAW_TRACEPOINT, frozenset()),
    ("raw_tp/sys_enter", "raw_tp", P.RAW_TRACEPOINT, None, AttachKind.RAW_TRACEPOINT,
     frozenset()),
    ("raw_tracepoint.s/sys_enter", "raw_tracepoint.s", P.RAW_TRACEPOINT, None,
     AttachKind.RAW_TRACEPOINT, frozenset({S})),
    ("raw_tp.s/sys_enter", "raw_tp.s", P.RAW_TRACEPOINT, None, AttachKind.RAW_TRACEPOINT,
     frozenset({S})),
    ("raw_tracepoint.w/bpf_test_finish", "raw_tracepoint.w", P.RAW_TRACEPOINT_WRITABLE, None,
     AttachKind.RAW_TRACEPOINT, frozenset()),
    ("raw_tp.w/bpf_test_finish", "raw_tp.w", P.RAW_TRACEPOINT_WRITABLE, None,
     AttachKind.RAW_TRACEPOINT, frozenset()),
    ("tp_btf/sched_switch", "tp_btf", P.TRACING, A.TRACE_RAW_TP, AttachKind.TRACING,
     frozenset()),
    ("tp_btf.s/sched_switch", "tp_btf.s", P.TRACING, A.TRACE_RAW_TP, AttachKind.TRACING,
     frozenset({S})),
    ("fentry/do_unlinkat", "fentry", P.TRACING, A.TRACE_FENTRY, AttachKind.TRACING,
     frozenset()),
    ("fmod_ret/do_unlinkat", "fmod_ret", P.TRACING, A.MODIFY_RETURN, AttachKind.TRACING,
     frozenset()),
    ("fexit/do_unlinkat", "fexit", P.TRACING, A.TRACE_FEXIT, AttachKind.TRACING, frozenset()),
    ("fentry.s/do_unlinkat", "fentry.s", P.TRACING, A.TRACE_FENTRY, AttachKind.TRACING,
     frozenset({S})),
    ("fmod_ret.s/do_unlinkat", "fmod_ret.s", P.TRACING, A.MODIFY_RETURN, AttachKind.TRACING,
     frozenset({S})),
    ("fexit.s/do_unlinkat", "fexit.s", P.TRACING, A.TRACE_FEXIT, AttachKind.TRACING,
     frozenset({S})),
    ("freplace/handler", "freplace", P.EXT, None, AttachKind.TRACING, frozenset()),
    ("lsm/file_open", "lsm", P.LSM, A.LSM_MAC, AttachKind.LSM, frozenset()),
    ("lsm.s/file_open", "lsm.s", P.LSM, A.LSM_MAC, AttachKind.LSM, frozenset({S})),
    ("lsm_cgroup/socket_bind", "lsm_cgroup", P.LSM, A.LSM_CGROUP, AttachKind.LSM_CGROUP,
     frozenset()),
    ("iter/task", "iter", P.TRACING, A.TRACE_ITER, AttachKind.ITER, frozenset()),
    ("iter.s/task", "iter.s", P.TRACING, A.TRACE_ITER, AttachKind.ITER, frozenset({S})),
    ("syscall", "syscall", P.SYSCALL, None, AttachKind.NONE, frozenset({S})),
    ("xdp.frags/devmap", "xdp.frags/devmap", P.XDP, A.XDP_DEVMAP, AttachKind.XDP,
     frozenset({F})),
    ("xdp/devmap", "xdp/devmap", P.XDP, A.XDP_DEVMAP, AttachKind.XDP, frozenset()),
    ("xdp_devmap/redirect", "xdp_devmap/", P.XDP, A.XDP_DEVMAP, AttachKind.XDP, frozenset()),
    ("xdp.frags/cpumap", "xdp.frags/cpumap", P.XDP, A.XDP_CPUMAP, AttachKind.XDP,
     frozenset({F})),
    ("xdp/cpumap", "xdp/cpumap", P.XDP, A.XDP_CPUMAP, AttachKind.XDP, frozenset()),
    ("xdp_cpumap/redirect", "xdp_cpumap/", P.XDP, A.XDP_CPUMAP, AttachKind.XDP, frozenset()),
    ("xdp.frags", "xdp.frags", P.XDP, A.XDP, AttachKind.XDP, frozenset({F})),
    ("xdp", "xdp", P.XDP, A.XDP, AttachKind.XDP, frozenset()),
    ("perf_event", "perf_event", P.PERF_EVENT, None, AttachKind.PERF_EVENT, frozenset()),
    ("lwt_in", "lwt_in", P.LWT_IN, None, AttachKind.LWT, frozenset()),
    ("lwt_out", "lwt_out", P.LWT_OUT, None, AttachKind.LWT, frozenset()),
    ("lwt_xmit", "lwt_xmit", P.LWT_XMIT, None, AttachKind.LWT, frozenset()),
    ("lwt_seg6local", "lwt_seg6local", P.LWT_SEG6LOCAL, None, AttachKind.LWT, frozenset()),
    ("sockops", "sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS, AttachKind.CGROUP, frozenset()),
    ("sk_skb/stream_parser", "sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER,
     AttachKind.SOCKMAP, frozenset()),
    ("sk_skb/stream_verdict", "sk_skb/stream_verdict", P.SK_SKB, A.SK_SKB_STREAM_VERDICT,
     AttachKind.SOCKMAP, frozenset()),
    ("sk_skb/verdict", "sk_skb/verdict", P.SK_SKB, A.SK_SKB_VERDICT, AttachKind.SOCKMAP,
     frozenset()),
    ("sk_skb", "sk_skb", P.SK_SKB, None, AttachKind.SOCKMAP, frozenset()),
    ("sk_msg", "sk_msg", P.SK_MSG, A.SK_MSG_VERDICT, AttachKind.SOCKMAP, frozenset()),
    ("lirc_mode2", "lirc_mode2", P.LIRC_MODE2, A.LIRC_MODE2, AttachKind.LIRC, frozenset()),
    ("flow_dissector", "flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR,
     AttachKind.FLOW_DISSECTOR, frozenset()),
    ("cgroup_skb/ingress", "cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS,
     AttachKind.CGROUP, frozenset()),
    ("cgroup_skb/egress", "cgroup_skb/egress", P.CGROUP_SKB, A.CGROUP_INET_EGRESS,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/skb", "cgroup/skb", P.CGROUP_SKB, None, AttachKind.CGROUP, frozenset()),
    ("cgroup/sock_create", "cgroup/sock_create", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/sock_release", "cgroup/sock_release", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/sock", "cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, AttachKind.CGROUP,
     frozenset()),
    ("cgroup/post_bind4", "cgroup/post_bind4", P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/post_bind6", "cgroup/post_bind6", P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/bind4", "cgroup/bind4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND, AttachKind.CGROUP,
     frozenset()),
    ("cgroup/bind6", "cgroup/bind6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND, AttachKind.CGROUP,
     frozenset()),
    ("cgroup/connect4", "cgroup/connect4", P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/connect6", "cgroup/connect6", P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/connect_unix", "cgroup/connect_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/sendmsg4", "cgroup/sendmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/sendmsg6", "cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/sendmsg_unix", "cgroup/sendmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/recvmsg4", "cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/recvmsg6", "cgroup/recvmsg6", P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/recvmsg_unix", "cgroup/recvmsg_unix", P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/getpeername4", "cgroup/getpeername4", P.CGROUP_SOCK_ADDR,
     A.CGROUP_INET4_GETPEERNAME, AttachKind.CGROUP, frozenset()),
    ("cgroup/getpeername6", "cgroup/getpeername6", P.CGROUP_SOCK_ADDR,
     A.CGROUP_INET6_GETPEERNAME, AttachKind.CGROUP, frozenset()),
    ("cgroup/getpeername_unix", "cgroup/getpeername_unix", P.CGROUP_SOCK_ADDR,
     A.CGROUP_UNIX_GETPEERNAME, AttachKind.CGROUP, frozenset()),
    ("cgroup/getsockname4", "cgroup/getsockname4", P.CGROUP_SOCK_ADDR,
     A.CGROUP_INET4_GETSOCKNAME, AttachKind.CGROUP, frozenset()),
    ("cgroup/getsockname6", "cgroup/getsockname6", P.CGROUP_SOCK_ADDR,
     A.CGROUP_INET6_GETSOCKNAME, AttachKind.CGROUP, frozenset()),
    ("cgroup/getsockname_unix", "cgroup/getsockname_unix", P.CGROUP_SOCK_ADDR,
     A.CGROUP_UNIX_GETSOCKNAME, AttachKind.CGROUP, frozenset()),
    ("cgroup/sysctl", "cgroup/sysctl", P.CGROUP_SYSCTL, A.CGROUP_SYSCTL, AttachKind.CGROUP,
     frozenset()),
    ("cgroup/getsockopt", "cgroup/getsockopt", P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/setsockopt", "cgroup/setsockopt", P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT,
     AttachKind.CGROUP, frozenset()),
    ("cgroup/dev", "cgroup/dev", P.CGROUP_DEVICE, A.CGROUP_DEVICE, AttachKind.CGROUP,
     frozenset()),
    ("struct_ops/init", "struct_ops", P.STRUCT_OPS, None, AttachKind.STRUCT_OPS, frozenset()),
    ("struct_ops.s/init", "struct_ops.s", P.STRUCT_OPS, None, AttachKind.STRUCT_OPS,
     frozenset({S})),
    ("sk_lookup", "sk_lookup", P.SK_LOOKUP, A.SK_LOOKUP, AttachKind.SK_LOOKUP, frozenset()),
    ("netfilter", "netfilter", P.NETFILTER, A.NETFILTER, AttachKind.NETFILTER, frozenset()),
]  # fmt: skip


@pytest.mark.parametrize(("name", "rule", "ptype", "atype", "kind", "props"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_section_entry(
    name: str, rule: str, ptype: P, atype: A | None, kind: AttachKind, props: frozenset[str]
) -> None:
    info = match_section(name)
    assert info.name == name
    assert info.rule == rule
    assert info.prog_type == ptype
    assert info.expected_attach_type == atype
    assert info.kind is kind
    assert info.sleepable == (S in props)
    assert info.xdp_frags == (F in props)
    assert not info.legacy


def test_every_rule_has_a_case() -> None:
    covered = {c[1] for c in CASES}
    missing = [d.base for d in SECTION_DEFS if d.base not in covered]
    assert not missing, f"section rules without a test case: {missing}"


def test_retprobe_and_btf_flags() -> None:
    assert match_section("kretprobe/x").retprobe
    assert match_section("uretprobe//bin/sh:main").retprobe
    assert match_section("kretsyscall/openat").retprobe
    assert match_section("kretprobe.multi/x*").retprobe
    assert not match_section("kprobe/x").retprobe
    for name in ("fentry/x", "fexit/x", "tp_btf/x", "lsm/x", "iter/task", "freplace/x"):
        assert match_section(name).attach_btf, name
    assert not match_section("kprobe/x").attach_btf
    assert match_section("xdp").attach_type_optional
    assert not match_section("cgroup/connect4").attach_type_optional


# legacy samples/bpf names: (name, rule, prog type, expected attach type)
LEGACY = [
    ("socket1", "socket", P.SOCKET_FILTER, None),
    ("socket_filter_2", "socket", P.SOCKET_FILTER, None),
    ("xdp_prog", "xdp", P.XDP, A.XDP),
    ("xdp_redirect_map", "xdp", P.XDP, A.XDP),
    ("perf_event_ctr", "perf_event", P.PERF_EVENT, None),
    ("cgroup/skb1", "cgroup/skb", P.CGROUP_SKB, None),
    ("cgroup/sock1", "cgroup/sock", P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
    ("sockops_tcp", "sockops", P.SOCK_OPS, A.CGROUP_SOCK_OPS),
    ("sk_skb1", "sk_skb", P.SK_SKB, None),
    ("sk_skb/stream_parser_2", "sk_skb/stream_parser", P.SK_SKB, A.SK_SKB_STREAM_PARSER),
    ("sk_msg1", "sk_msg", P.SK_MSG, A.SK_MSG_VERDICT),
    ("lwt_xmit_redirect", "lwt_xmit", P.LWT_XMIT, None),
    ("lwt_in_1", "lwt_in", P.LWT_IN, None),
    ("classifier_ingress", "classifier", P.SCHED_CLS, None),
    ("action_mirred", "action", P.SCHED_ACT, None),
    ("cgroup_skb/ingress_2", "cgroup_skb/ingress", P.CGROUP_SKB, A.CGROUP_INET_INGRESS),
    ("flow_dissector_0", "flow_dissector", P.FLOW_DISSECTOR, A.FLOW_DISSECTOR),
]


@pytest.mark.parametrize(("name", "rule", "ptype", "atype"), LEGACY, ids=[c[0] for c in LEGACY])
def test_legacy_sloppy_prefix(name: str, rule: str, ptype: P, atype: A | None) -> None:
    info = match_section(name)
    assert (info.rule, info.prog_type, info.expected_attach_type) == (rule, ptype, atype)
    assert info.legacy
    assert info.target is None and not info.auto_attach


def test_samples_bpf_prefixes_are_strict_rules() -> None:
    """samples/bpf's kprobe/, kretprobe/, tracepoint/, raw_tracepoint/ parse strictly."""
    assert match_section("kprobe/__x64_sys_write").target == KprobeTarget("__x64_sys_write")
    assert match_section("kretprobe/vfs_read").target == KprobeTarget("vfs_read")
    tp = match_section("tracepoint/xdp/xdp_redirect")
    assert tp.target == TracepointTarget("xdp", "xdp_redirect")
    assert tp.attach_target == "xdp/xdp_redirect"
    assert match_section("raw_tracepoint/sched_switch").target == NameTarget("sched_switch")
    for n in ("kprobe/x", "kretprobe/x", "tracepoint/a/b", "raw_tracepoint/x"):
        assert not match_section(n).legacy


TARGETS = [
    ("tp/syscalls/sys_enter_execve", TracepointTarget("syscalls", "sys_enter_execve"), True),
    ("kprobe/do_sys_open+0x10", KprobeTarget("do_sys_open", 16), True),
    ("kprobe/tcp_v4_connect.cold+8", KprobeTarget("tcp_v4_connect.cold", 8), True),
    ("ksyscall/openat", SyscallTarget("openat"), True),
    ("kprobe.multi/vfs_*", PatternTarget("vfs_*"), True),
    ("kprobe.session/do_?ys", PatternTarget("do_?ys"), True),
    ("uprobe//proc/self/exe:main+0x4", UprobeTarget("/proc/self/exe", "main", 4), True),
    ("uprobe/libc.so.6:malloc", UprobeTarget("libc.so.6", "malloc", 0), True),
    ("uprobe/libc.so.6:0x1234", UprobeTarget("libc.so.6", None, 0x1234), True),
    ("uprobe/libc.so.6:malloc@GLIBC_2.2.5", UprobeTarget("libc.so.6", "malloc@GLIBC_2.2.5"),
     True),
    ("uprobe.multi//bin/bash:read*", UprobeMultiTarget("/bin/bash", "read*"), True),
    ("usdt//usr/lib/libc.so.6:libc:setjmp", UsdtTarget("/usr/lib/libc.so.6", "libc", "setjmp"),
     True),
    ("raw_tp/sys_enter", NameTarget("sys_enter"), True),
    ("tp_btf/sched_switch", NameTarget("sched_switch"), True),
    ("fentry/do_unlinkat", NameTarget("do_unlinkat"), True),
    ("lsm/file_open", NameTarget("file_open"), True),
    ("iter/bpf_map_elem", NameTarget("bpf_map_elem"), True),
    ("freplace/handler", NameTarget("handler"), True),
    ("struct_ops/dctcp_init", NameTarget("dctcp_init"), False),
    ("lsm_cgroup/socket_bind", NameTarget("socket_bind"), False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "target", "auto"), TARGETS, ids=[t[0] for t in TARGETS])
def test_attach_target(name: str, target: object, auto: bool) -> None:
    info = match_section(name)
    assert info.target == target
    assert info.target_error is None
    assert info.auto_attach is auto
    assert info.attach_target == name.split("/", 1)[1]


@pytest.mark.parametrize(
    "name",
    ["kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "tp", "tracepoint", "raw_tp",
     "fentry", "ksyscall", "kprobe.multi", "uprobe.multi", "lsm", "iter"],
)  # fmt: skip
def test_bare_names_load_but_do_not_auto_attach(name: str) -> None:
    info = match_section(name)
    assert info.target is None and info.target_error is None
    assert not info.auto_attach


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("tracepoint/sys_enter_execve", "<category>/<name>"),
        ("uprobe//bin/sh", "<binary>:<function>"),
        ("usdt/libc.so.6:setjmp", "<binary>:<provider>:<name>"),
        ("kretprobe/vfs_read+4", "offset"),
        ("uretprobe//bin/sh:main+4", "offset"),
        ("kprobe/bad name", "<function>"),
        ("kprobe.multi/a b", "pattern"),
        ("uprobe.multi//bin/sh", "<binary>:<pattern>"),
    ],
)
def test_malformed_target_is_reported_not_guessed(name: str, why: str) -> None:
    info = match_section(name)
    assert info.target is None
    assert not info.auto_attach
    assert info.target_error is not None and why in info.target_error


@pytest.mark.parametrize(
    ("name", "close"),
    [
        ("kprboe/vfs_read", "kprobe/<target>"),
        ("tracepiont/sched/sched_switch", "tracepoint/<target>"),
        ("xpd", "xdp"),
        ("cgroup/conect4", "cgroup/connect4"),
        ("fentri/x", "fentry/<target>"),
    ],
)
def test_unknown_section_lists_closest(name: str, close: str) -> None:
    with pytest.raises(ObjectError) as exc:
        match_section(name, file="x.o")
    err = exc.value
    assert err.section == name and err.file == "x.o"
    assert repr(close) in str(err)
    assert "unknown program section" in str(err)


@pytest.mark.parametrize("name", ["", ".text.foo", "tracepoints/a/b", "kprobe_x", "tcx", "lsm_x"])
def test_no_guessing(name: str) -> None:
    with pytest.raises(ObjectError):
        match_section(name)

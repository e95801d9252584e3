"""The section-name table: what a ``SEC("...")`` name means for loading and attaching.

One table in the spirit of libbpf's ``section_defs`` maps each section name to a
program type, an expected attach type, flags (sleepable, XDP frags, BTF attach
target, ...) and an attach kind; the attach target written into the name
(``tp/syscalls/sys_enter_execve``, ``uprobe//bin/bash:readline+4``, ...) is
parsed into a typed value. The table follows libbpf v1.7.0's (``section_defs`` in
libbpf.c) except ``fsession``, whose attach type this kernel's uapi (the source of
:mod:`pybpf.uapi.enums`) lacks. An exact rule followed by ``/`` (``sk_lookup/``) is accepted as
cilium/ebpf does. Legacy samples/bpf names (``socket1``, ``xdp_prog``,
``cgroup/sock1``) are accepted as "sloppy" prefixes after every strict rule
failed. Unknown names raise :class:`ObjectError`; nothing is guessed.
"""

from __future__ import annotations

import re

from pybpf._dataclass import dataclass
from pybpf._fastenum import FastEnum, FastIntFlag
from pybpf.errors import ObjectError
from pybpf.uapi.enums import AttachType, ProgType

__all__ = [
    "SECTION_DEFS",
    "AttachKind",
    "AttachTarget",
    "KprobeTarget",
    "NameTarget",
    "PatternTarget",
    "SecFlag",
    "SectionDef",
    "SectionInfo",
    "SyscallTarget",
    "TracepointTarget",
    "UprobeMultiTarget",
    "UprobeTarget",
    "UsdtTarget",
    "closest_sections",
    "match_section",
]


class SecFlag(FastIntFlag):
    """Properties of a section definition."""

    NONE = 0
    #: expected_attach_type may be dropped for kernels that do not know it
    ATTACH_OPT = 1
    #: attachable through BPF_PROG_ATTACH / a link on a cgroup, map, netns, ...
    ATTACHABLE = 2
    #: the attach target is a BTF id (kernel function, tracepoint, hook)
    ATTACH_BTF = 4
    #: the program may sleep (BPF_F_SLEEPABLE)
    SLEEPABLE = 8
    #: XDP program handling multi-buffer packets (BPF_F_XDP_HAS_FRAGS)
    XDP_FRAGS = 16
    #: USDT probe (attach type may become uprobe_multi)
    USDT = 32
    #: also matches as a bare prefix of legacy names (``socket1``, ``xdp_prog``)
    SLOPPY = 64
    #: deprecated spelling kept for old objects
    DEPRECATED = 128


class AttachKind(FastEnum):
    """How a program of a section gets attached (which attach routine applies)."""

    NONE = "none"  # loaded only (socket filters, perf_event, syscall, ...)
    KPROBE = "kprobe"
    KSYSCALL = "ksyscall"
    KPROBE_MULTI = "kprobe_multi"
    KPROBE_SESSION = "kprobe_session"
    UPROBE = "uprobe"
    UPROBE_MULTI = "uprobe_multi"
    USDT = "usdt"
    TRACEPOINT = "tracepoint"
    RAW_TRACEPOINT = "raw_tracepoint"
    TRACING = "tracing"  # tp_btf, fentry, fexit, fmod_ret, freplace
    LSM = "lsm"
    LSM_CGROUP = "lsm_cgroup"
    ITER = "iter"
    STRUCT_OPS = "struct_ops"
    XDP = "xdp"
    TC = "tc"  # netlink tc filters (legacy)
    TCX = "tcx"
    NETKIT = "netkit"
    CGROUP = "cgroup"
    SOCKMAP = "sockmap"  # sk_msg / sk_skb into a sockmap
    SK_REUSEPORT = "sk_reuseport"
    SK_LOOKUP = "sk_lookup"
    FLOW_DISSECTOR = "flow_dissector"
    NETFILTER = "netfilter"
    PERF_EVENT = "perf_event"
    SOCKET = "socket"  # SO_ATTACH_BPF on a socket
    LWT = "lwt"
    LIRC = "lirc"


# Kinds whose attach target comes from the section name; a target makes auto-attach possible.
_AUTO_KINDS = frozenset(
    {
        AttachKind.KPROBE,
        AttachKind.KSYSCALL,
        AttachKind.KPROBE_MULTI,
        AttachKind.KPROBE_SESSION,
        AttachKind.UPROBE,
        AttachKind.UPROBE_MULTI,
        AttachKind.USDT,
        AttachKind.TRACEPOINT,
        AttachKind.RAW_TRACEPOINT,
        AttachKind.TRACING,
        AttachKind.LSM,
        AttachKind.ITER,
    }
)


@dataclass(frozen=True, slots=True)
class SectionDef:
    """One rule of the table.

    ``pattern`` follows libbpf: ``"kprobe+"`` matches ``kprobe`` exactly or
    ``kprobe/<extras>``; a trailing ``/`` matches any name with that prefix; any
    other pattern must match exactly (or as a bare prefix when SLOPPY).
    """

    pattern: str
    prog_type: ProgType
    expected_attach_type: AttachType | None
    flags: SecFlag
    kind: AttachKind
    retprobe: bool = False

    @property
    def base(self) -> str:
        """The pattern without its ``+`` marker (what users write)."""
        return self.pattern.rstrip("+")

    def matches(self, name: str) -> bool:
        """Strict libbpf matching of ``name`` against this rule."""
        pat = self.pattern
        if pat.endswith("/"):
            return name.startswith(pat)
        if pat.endswith("+"):
            base = pat[:-1]
            return name == base or name.startswith(base + "/")
        return name == pat

    def matches_with_slash(self, name: str) -> bool:
        """An exact rule followed by ``/`` and any extras (``sk_lookup/``)."""
        pat = self.pattern
        return not pat.endswith(("+", "/")) and name.startswith(pat + "/")

    def matches_sloppy(self, name: str) -> bool:
        """Legacy samples/bpf matching: the bare prefix is enough."""
        return bool(self.flags & SecFlag.SLOPPY) and name.startswith(self.base)


@dataclass(frozen=True, slots=True)
class KprobeTarget:
    """``kprobe/<function>[+<offset>]``."""

    function: str
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SyscallTarget:
    """``ksyscall/<syscall>`` (arch prefix added at attach time)."""

    syscall: str


@dataclass(frozen=True, slots=True)
class PatternTarget:
    """``kprobe.multi/<glob>`` and ``kprobe.session/<glob>``."""

    pattern: str


@dataclass(frozen=True, slots=True)
class UprobeTarget:
    """``uprobe/<binary>:<function>[+<offset>]`` or ``uprobe/<binary>:<offset>``."""

    binary: str
    function: str | None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class UprobeMultiTarget:
    """``uprobe.multi/<binary>:<glob>``."""

    binary: str
    pattern: str


@dataclass(frozen=True, slots=True)
class UsdtTarget:
    """``usdt/<binary>:<provider>:<name>``."""

    binary: str
    provider: str
    name: str


@dataclass(frozen=True, slots=True)
class TracepointTarget:
    """``tracepoint/<category>/<name>``."""

    category: str
    name: str

    def __str__(self) -> str:
        return f"{self.category}/{self.name}"


@dataclass(frozen=True, slots=True)
class NameTarget:
    """A single name: raw tracepoint, BTF function/hook, iterator or struct_ops member."""

    name: str


AttachTarget = (
    KprobeTarget
    | SyscallTarget
    | PatternTarget
    | UprobeTarget
    | UprobeMultiTarget
    | UsdtTarget
    | TracepointTarget
    | NameTarget
)


@dataclass(frozen=True, slots=True)
class SectionInfo:
    """What a section name means: the matched rule plus the parsed attach target.

    ``expected_attach_type`` is None where the load attribute stays 0 and the
    attach type is not fixed by the section. ``target_spec`` is the raw text after
    the rule's prefix; ``target`` its parsed form (None when the name carries none,
    in which case ``auto_attach`` is False); ``target_error`` says why a present
    target could not be parsed. ``legacy`` is set when no strict libbpf rule matched
    but a sloppy samples/bpf prefix or an exact rule followed by ``/`` did.
    """

    name: str
    rule: str
    prog_type: ProgType
    expected_attach_type: AttachType | None
    kind: AttachKind
    flags: SecFlag
    retprobe: bool
    target_spec: str | None
    target: AttachTarget | None
    target_error: str | None
    auto_attach: bool
    legacy: bool

    @property
    def sleepable(self) -> bool:
        """True for sleepable program sections (``*.s``, ``syscall``)."""
        return bool(self.flags & SecFlag.SLEEPABLE)

    @property
    def xdp_frags(self) -> bool:
        """True for ``xdp.frags`` sections (load with BPF_F_XDP_HAS_FRAGS)."""
        return bool(self.flags & SecFlag.XDP_FRAGS)

    @property
    def attach_btf(self) -> bool:
        """True when loading needs the BTF id of the attach target."""
        return bool(self.flags & SecFlag.ATTACH_BTF)

    @property
    def attach_type_optional(self) -> bool:
        """True when the expected attach type may be dropped on old kernels."""
        return bool(self.flags & SecFlag.ATTACH_OPT)

    @property
    def attach_target(self) -> str | None:
        """The target as one string (``syscalls/sys_enter_execve``), or None."""
        return self.target_spec if self.target is not None else None


_P = ProgType
_A = AttachType
_F = SecFlag
_K = AttachKind
_NONE = _F.NONE
_ATT = _F.ATTACHABLE
_ATT_OPT = _F.ATTACHABLE | _F.ATTACH_OPT
_BTF = _F.ATTACH_BTF
_SLEEP = _F.SLEEPABLE
_SL = _F.SLOPPY


def _d(
    pattern: str,
    prog_type: ProgType,
    attach: AttachType | None,
    flags: SecFlag,
    kind: AttachKind,
    *,
    ret: bool = False,
) -> SectionDef:
    return SectionDef(pattern, prog_type, attach, flags, kind, ret)


#: The table, in matching order (first strict match wins; then first sloppy match).
SECTION_DEFS: tuple[SectionDef, ...] = (
    _d("socket", _P.SOCKET_FILTER, None, _NONE | _SL, _K.SOCKET),
    _d(
        "sk_reuseport/migrate",
        _P.SK_REUSEPORT,
        _A.SK_REUSEPORT_SELECT_OR_MIGRATE,
        _ATT | _SL,
        _K.SK_REUSEPORT,
    ),
    _d("sk_reuseport", _P.SK_REUSEPORT, _A.SK_REUSEPORT_SELECT, _ATT | _SL, _K.SK_REUSEPORT),
    _d("kprobe+", _P.KPROBE, None, _NONE, _K.KPROBE),
    _d("uprobe+", _P.KPROBE, None, _NONE, _K.UPROBE),
    _d("uprobe.s+", _P.KPROBE, None, _SLEEP, _K.UPROBE),
    _d("kretprobe+", _P.KPROBE, None, _NONE, _K.KPROBE, ret=True),
    _d("uretprobe+", _P.KPROBE, None, _NONE, _K.UPROBE, ret=True),
    _d("uretprobe.s+", _P.KPROBE, None, _SLEEP, _K.UPROBE, ret=True),
    _d("kprobe.multi+", _P.KPROBE, _A.TRACE_KPROBE_MULTI, _NONE, _K.KPROBE_MULTI),
    _d("kretprobe.multi+", _P.KPROBE, _A.TRACE_KPROBE_MULTI, _NONE, _K.KPROBE_MULTI, ret=True),
    _d("kprobe.session+", _P.KPROBE, _A.TRACE_KPROBE_SESSION, _NONE, _K.KPROBE_SESSION),
    _d("uprobe.multi+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, _NONE, _K.UPROBE_MULTI),
    _d("uretprobe.multi+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, _NONE, _K.UPROBE_MULTI, ret=True),
    _d("uprobe.session+", _P.KPROBE, _A.TRACE_UPROBE_SESSION, _NONE, _K.UPROBE_MULTI),
    _d("uprobe.multi.s+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, _SLEEP, _K.UPROBE_MULTI),
    _d("uretprobe.multi.s+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, _SLEEP, _K.UPROBE_MULTI, ret=True),
    _d("uprobe.session.s+", _P.KPROBE, _A.TRACE_UPROBE_SESSION, _SLEEP, _K.UPROBE_MULTI),
    _d("ksyscall+", _P.KPROBE, None, _NONE, _K.KSYSCALL),
    _d("kretsyscall+", _P.KPROBE, None, _NONE, _K.KSYSCALL, ret=True),
    _d("usdt+", _P.KPROBE, None, _F.USDT, _K.USDT),
    _d("usdt.s+", _P.KPROBE, None, _F.USDT | _SLEEP, _K.USDT),
    _d("tc/ingress", _P.SCHED_CLS, _A.TCX_INGRESS, _NONE, _K.TCX),
    _d("tc/egress", _P.SCHED_CLS, _A.TCX_EGRESS, _NONE, _K.TCX),
    _d("tcx/ingress", _P.SCHED_CLS, _A.TCX_INGRESS, _NONE, _K.TCX),
    _d("tcx/egress", _P.SCHED_CLS, _A.TCX_EGRESS, _NONE, _K.TCX),
    _d("tc", _P.SCHED_CLS, None, _NONE, _K.TC),
    _d("classifier", _P.SCHED_CLS, None, _NONE | _SL, _K.TC),
    _d("action", _P.SCHED_ACT, None, _NONE | _SL, _K.TC),
    _d("netkit/primary", _P.SCHED_CLS, _A.NETKIT_PRIMARY, _NONE, _K.NETKIT),
    _d("netkit/peer", _P.SCHED_CLS, _A.NETKIT_PEER, _NONE, _K.NETKIT),
    _d("tracepoint+", _P.TRACEPOINT, None, _NONE, _K.TRACEPOINT),
    _d("tp+", _P.TRACEPOINT, None, _NONE, _K.TRACEPOINT),
    _d("tracepoint.s+", _P.TRACEPOINT, None, _SLEEP, _K.TRACEPOINT),
    _d("tp.s+", _P.TRACEPOINT, None, _SLEEP, _K.TRACEPOINT),
    _d("raw_tracepoint+", _P.RAW_TRACEPOINT, None, _NONE, _K.RAW_TRACEPOINT),
    _d("raw_tp+", _P.RAW_TRACEPOINT, None, _NONE, _K.RAW_TRACEPOINT),
    _d("raw_tracepoint.s+", _P.RAW_TRACEPOINT, None, _SLEEP, _K.RAW_TRACEPOINT),
    _d("raw_tp.s+", _P.RAW_TRACEPOINT, None, _SLEEP, _K.RAW_TRACEPOINT),
    _d("raw_tracepoint.w+", _P.RAW_TRACEPOINT_WRITABLE, None, _NONE, _K.RAW_TRACEPOINT),
    _d("raw_tp.w+", _P.RAW_TRACEPOINT_WRITABLE, None, _NONE, _K.RAW_TRACEPOINT),
    _d("tp_btf+", _P.TRACING, _A.TRACE_RAW_TP, _BTF, _K.TRACING),
    _d("tp_btf.s+", _P.TRACING, _A.TRACE_RAW_TP, _BTF | _SLEEP, _K.TRACING),
    _d("fentry+", _P.TRACING, _A.TRACE_FENTRY, _BTF, _K.TRACING),
    _d("fmod_ret+", _P.TRACING, _A.MODIFY_RETURN, _BTF, _K.TRACING),
    _d("fexit+", _P.TRACING, _A.TRACE_FEXIT, _BTF, _K.TRACING),
    _d("fentry.s+", _P.TRACING, _A.TRACE_FENTRY, _BTF | _SLEEP, _K.TRACING),
    _d("fmod_ret.s+", _P.TRACING, _A.MODIFY_RETURN, _BTF | _SLEEP, _K.TRACING),
    _d("fexit.s+", _P.TRACING, _A.TRACE_FEXIT, _BTF | _SLEEP, _K.TRACING),
    _d("freplace+", _P.EXT, None, _BTF, _K.TRACING),
    _d("lsm+", _P.LSM, _A.LSM_MAC, _BTF, _K.LSM),
    _d("lsm.s+", _P.LSM, _A.LSM_MAC, _BTF | _SLEEP, _K.LSM),
    _d("lsm_cgroup+", _P.LSM, _A.LSM_CGROUP, _BTF, _K.LSM_CGROUP),
    _d("iter+", _P.TRACING, _A.TRACE_ITER, _BTF, _K.ITER),
    _d("iter.s+", _P.TRACING, _A.TRACE_ITER, _BTF | _SLEEP, _K.ITER),
    _d("syscall", _P.SYSCALL, None, _SLEEP, _K.NONE),
    _d("xdp.frags/devmap", _P.XDP, _A.XDP_DEVMAP, _F.XDP_FRAGS, _K.XDP),
    _d("xdp/devmap", _P.XDP, _A.XDP_DEVMAP, _ATT, _K.XDP),
    _d("xdp_devmap/", _P.XDP, _A.XDP_DEVMAP, _ATT | _F.DEPRECATED, _K.XDP),
    _d("xdp.frags/cpumap", _P.XDP, _A.XDP_CPUMAP, _F.XDP_FRAGS, _K.XDP),
    _d("xdp/cpumap", _P.XDP, _A.XDP_CPUMAP, _ATT, _K.XDP),
    _d("xdp_cpumap/", _P.XDP, _A.XDP_CPUMAP, _ATT | _F.DEPRECATED, _K.XDP),
    _d("xdp.frags", _P.XDP, _A.XDP, _F.XDP_FRAGS, _K.XDP),
    _d("xdp", _P.XDP, _A.XDP, _ATT_OPT | _SL, _K.XDP),
    _d("perf_event", _P.PERF_EVENT, None, _NONE | _SL, _K.PERF_EVENT),
    _d("lwt_in", _P.LWT_IN, None, _NONE | _SL, _K.LWT),
    _d("lwt_out", _P.LWT_OUT, None, _NONE | _SL, _K.LWT),
    _d("lwt_xmit", _P.LWT_XMIT, None, _NONE | _SL, _K.LWT),
    _d("lwt_seg6local", _P.LWT_SEG6LOCAL, None, _NONE | _SL, _K.LWT),
    _d("sockops", _P.SOCK_OPS, _A.CGROUP_SOCK_OPS, _ATT_OPT | _SL, _K.CGROUP),
    _d("sk_skb/stream_parser", _P.SK_SKB, _A.SK_SKB_STREAM_PARSER, _ATT_OPT | _SL, _K.SOCKMAP),
    _d("sk_skb/stream_verdict", _P.SK_SKB, _A.SK_SKB_STREAM_VERDICT, _ATT_OPT | _SL, _K.SOCKMAP),
    _d("sk_skb/verdict", _P.SK_SKB, _A.SK_SKB_VERDICT, _ATT_OPT, _K.SOCKMAP),
    _d("sk_skb", _P.SK_SKB, None, _NONE | _SL, _K.SOCKMAP),
    _d("sk_msg", _P.SK_MSG, _A.SK_MSG_VERDICT, _ATT_OPT | _SL, _K.SOCKMAP),
    _d("lirc_mode2", _P.LIRC_MODE2, _A.LIRC_MODE2, _ATT_OPT | _SL, _K.LIRC),
    _d("flow_dissector", _P.FLOW_DISSECTOR, _A.FLOW_DISSECTOR, _ATT_OPT | _SL, _K.FLOW_DISSECTOR),
    _d("cgroup_skb/ingress", _P.CGROUP_SKB, _A.CGROUP_INET_INGRESS, _ATT_OPT | _SL, _K.CGROUP),
    _d("cgroup_skb/egress", _P.CGROUP_SKB, _A.CGROUP_INET_EGRESS, _ATT_OPT | _SL, _K.CGROUP),
    _d("cgroup/skb", _P.CGROUP_SKB, None, _NONE | _SL, _K.CGROUP),
    _d("cgroup/sock_create", _P.CGROUP_SOCK, _A.CGROUP_INET_SOCK_CREATE, _ATT | _SL, _K.CGROUP),
    _d("cgroup/sock_release", _P.CGROUP_SOCK, _A.CGROUP_INET_SOCK_RELEASE, _ATT | _SL, _K.CGROUP),
    _d("cgroup/sock", _P.CGROUP_SOCK, _A.CGROUP_INET_SOCK_CREATE, _ATT_OPT | _SL, _K.CGROUP),
    _d("cgroup/post_bind4", _P.CGROUP_SOCK, _A.CGROUP_INET4_POST_BIND, _ATT, _K.CGROUP),
    _d("cgroup/post_bind6", _P.CGROUP_SOCK, _A.CGROUP_INET6_POST_BIND, _ATT, _K.CGROUP),
    _d("cgroup/bind4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_BIND, _ATT, _K.CGROUP),
    _d("cgroup/bind6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_BIND, _ATT, _K.CGROUP),
    _d("cgroup/connect4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_CONNECT, _ATT, _K.CGROUP),
    _d("cgroup/connect6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_CONNECT, _ATT, _K.CGROUP),
    _d("cgroup/connect_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_CONNECT, _ATT, _K.CGROUP),
    _d("cgroup/sendmsg4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP4_SENDMSG, _ATT, _K.CGROUP),
    _d("cgroup/sendmsg6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP6_SENDMSG, _ATT, _K.CGROUP),
    _d("cgroup/sendmsg_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_SENDMSG, _ATT, _K.CGROUP),
    _d("cgroup/recvmsg4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP4_RECVMSG, _ATT, _K.CGROUP),
    _d("cgroup/recvmsg6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP6_RECVMSG, _ATT, _K.CGROUP),
    _d("cgroup/recvmsg_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_RECVMSG, _ATT, _K.CGROUP),
    _d("cgroup/getpeername4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_GETPEERNAME, _ATT, _K.CGROUP),
    _d("cgroup/getpeername6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_GETPEERNAME, _ATT, _K.CGROUP),
    _d("cgroup/getpeername_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_GETPEERNAME, _ATT, _K.CGROUP),
    _d("cgroup/getsockname4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_GETSOCKNAME, _ATT, _K.CGROUP),
    _d("cgroup/getsockname6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_GETSOCKNAME, _ATT, _K.CGROUP),
    _d("cgroup/getsockname_unix", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UNIX_GETSOCKNAME, _ATT, _K.CGROUP),
    _d("cgroup/sysctl", _P.CGROUP_SYSCTL, _A.CGROUP_SYSCTL, _ATT, _K.CGROUP),
    _d("cgroup/getsockopt", _P.CGROUP_SOCKOPT, _A.CGROUP_GETSOCKOPT, _ATT, _K.CGROUP),
    _d("cgroup/setsockopt", _P.CGROUP_SOCKOPT, _A.CGROUP_SETSOCKOPT, _ATT, _K.CGROUP),
    _d("cgroup/dev", _P.CGROUP_DEVICE, _A.CGROUP_DEVICE, _ATT_OPT, _K.CGROUP),
    _d("struct_ops+", _P.STRUCT_OPS, None, _NONE, _K.STRUCT_OPS),
    _d("struct_ops.s+", _P.STRUCT_OPS, None, _SLEEP, _K.STRUCT_OPS),
    _d("sk_lookup", _P.SK_LOOKUP, _A.SK_LOOKUP, _ATT, _K.SK_LOOKUP),
    _d("netfilter", _P.NETFILTER, _A.NETFILTER, _NONE, _K.NETFILTER),
)


def match_section(name: str, *, file: str | None = None) -> SectionInfo:
    """Resolve a program section name; unknown names raise :class:`ObjectError`.

    Strict rules are tried first (in table order); then, first in table order, an
    exact rule followed by ``/`` and anything (``sk_lookup/``, ``syscall/name``:
    libbpf 1.x leaves such a name without a program type, cilium/ebpf and pre-1.0
    libbpf take the rule's type) or a sloppy legacy prefix.
    """
    legacy = False
    found = next((d for d in SECTION_DEFS if d.matches(name)), None)
    if found is None:
        # prefix matches, first in table order (as libbpf 0.x's sloppy matching)
        found = next(
            (d for d in SECTION_DEFS if d.matches_with_slash(name) or d.matches_sloppy(name)),
            None,
        )
        legacy = True
    if found is None:
        close = closest_sections(name)
        hint = f"; closest known: {', '.join(repr(c) for c in close)}" if close else ""
        raise ObjectError(
            f"unknown program section name {name!r}: cannot tell the program type{hint}",
            file=file,
            section=name,
        )
    spec: str | None = None
    if not legacy and found.pattern.endswith("+") and name != found.base:
        spec = name[len(found.base) + 1 :]
    elif not legacy and found.pattern.endswith("/"):
        spec = name[len(found.pattern) :]
    target: AttachTarget | None = None
    error: str | None = None
    if spec is not None:
        try:
            target = _parse_target(found, spec)
        except ValueError as exc:
            error = str(exc)
    auto = target is not None and found.kind in _AUTO_KINDS
    return SectionInfo(
        name=name,
        rule=found.base,
        prog_type=found.prog_type,
        expected_attach_type=found.expected_attach_type,
        kind=found.kind,
        flags=found.flags,
        retprobe=found.retprobe,
        target_spec=spec,
        target=target,
        target_error=error,
        auto_attach=auto,
        legacy=legacy,
    )


def closest_sections(name: str, n: int = 3) -> list[str]:
    """Up to ``n`` known section spellings closest to ``name`` (for error messages)."""
    names: list[str] = []
    for d in SECTION_DEFS:
        base = d.base
        names.append(base + "/<target>" if d.pattern.endswith("+") else base)
    head = re.split(r"[/.]", name, maxsplit=1)[0]
    bases = {d.base: shown for d, shown in zip(SECTION_DEFS, names, strict=True)}
    out: list[str] = []
    import difflib  # only for a "did you mean" hint

    for cand in difflib.get_close_matches(name, list(bases), n=n, cutoff=0.5):
        out.append(bases[cand])
    if len(out) < n and head != name:
        for cand in difflib.get_close_matches(head, list(bases), n=n, cutoff=0.6):
            if bases[cand] not in out:
                out.append(bases[cand])
    return out[:n]


# Patterns as text: re compiles (and caches) each on first use, not at every import.
_INT = r"^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$"
_KPROBE = r"^([A-Za-z0-9_.]+)(?:\+(.+))?$"
_PATTERN = r"^[A-Za-z0-9_.*?]+$"


def _int(text: str) -> int:
    """A C integer literal (as ``%li`` reads it): decimal, 0x hex or 0 octal."""
    if not re.match(_INT, text):
        raise ValueError(f"{text!r} is not an integer")
    if text[:2].lower() == "0x":
        return int(text, 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text, 8)
    return int(text)


def _parse_target(d: SectionDef, spec: str) -> AttachTarget:
    """Parse the attach target text of a section; ValueError says what is wrong."""
    kind = d.kind
    if not spec:
        raise ValueError(f"empty attach target after '{d.base}/'")
    if kind is AttachKind.KPROBE:
        m = re.match(_KPROBE, spec)
        if not m:
            raise ValueError(f"kprobe target {spec!r} is not <function>[+<offset>]")
        offset = _int(m.group(2)) if m.group(2) is not None else 0
        if d.retprobe and offset:
            raise ValueError("kretprobes do not support an offset")
        return KprobeTarget(m.group(1), offset)
    if kind is AttachKind.KSYSCALL:
        return SyscallTarget(spec)
    if kind in (AttachKind.KPROBE_MULTI, AttachKind.KPROBE_SESSION):
        if not re.match(_PATTERN, spec):
            raise ValueError(
                f"kprobe multi pattern {spec!r} has characters outside [A-Za-z0-9_.*?]"
            )
        return PatternTarget(spec)
    if kind is AttachKind.UPROBE:
        binary, sep, func = spec.partition(":")
        if not sep or not binary or not func:
            raise ValueError(f"uprobe target {spec!r} is not <binary>:<function>[+<offset>]")
        offset = 0
        fname: str | None = func
        base, plus, off = func.rpartition("+")
        if plus and base:
            try:
                offset = _int(off)
                fname = base
            except ValueError:
                offset = 0
        elif re.match(_INT, func):
            fname, offset = None, _int(func)
        if d.retprobe and offset:
            raise ValueError("uretprobes do not support an offset")
        return UprobeTarget(binary, fname, offset)
    if kind is AttachKind.UPROBE_MULTI:
        binary, sep, pattern = spec.partition(":")
        if not sep or not binary or not pattern:
            raise ValueError(f"uprobe.multi target {spec!r} is not <binary>:<pattern>")
        return UprobeMultiTarget(binary, pattern)
    if kind is AttachKind.USDT:
        parts = spec.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"usdt target {spec!r} is not <binary>:<provider>:<name>")
        return UsdtTarget(parts[0], parts[1], parts[2])
    if kind is AttachKind.TRACEPOINT:
        category, sep, event = spec.partition("/")
        if not sep or not category or not event:
            raise ValueError(f"tracepoint target {spec!r} is not <category>/<name>")
        return TracepointTarget(category, event)
    return NameTarget(spec)

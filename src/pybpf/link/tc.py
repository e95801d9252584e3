"""tc: programs on a device's ingress/egress — tcx links, netlink cls_bpf, netkit.

``attach_tcx`` makes a tcx BPF link (kernel 6.6+), optionally ordered before or
after another program or link. ``attach_tc`` is the classic path for kernels
without tcx: a ``clsact`` qdisc (created if absent) and a ``cls_bpf`` filter in
direct-action mode, both through rtnetlink; closing the link removes that filter,
and the qdisc too when pybpf created it and nothing else is filtering on it.
``attach_netkit`` links a program to a netkit device's primary or peer side.
"""

from __future__ import annotations

import errno
import os
import threading
from typing import Any

from pybpf._dataclass import dataclass
from pybpf.errors import AttachError, KernelError, NotSupportedError
from pybpf.link.base import CallbackLink, FDLink, Link
from pybpf.sys import links as syslinks
from pybpf.sys import progs as sysprogs
from pybpf.sys.fd import fd_of
from pybpf.sys.netlink import (
    NLM_F,
    RTM,
    TCA,
    TCA_QDISC,
    TCMSG,
    Message,
    NetlinkSocket,
    ifindex_of,
    ifname_of,
)
from pybpf.sys.netns import netns_inode
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType

__all__ = [
    "TcFilter",
    "attach_netkit",
    "attach_tc",
    "attach_tcx",
    "tc_filters",
    "tc_qdiscs",
    "tcx_query",
]

TC_H_CLSACT = 0xFFFFFFF1
CLSACT_HANDLE = 0xFFFF0000
_PARENT = {"ingress": 0xFFFFFFF2, "egress": 0xFFFFFFF3}
ETH_P_ALL = 0x0003
TCA_BPF_FLAG_ACT_DIRECT = 1
NLM_F_ECHO = 0x8

# mprog flags of BPF_LINK_CREATE / BPF_PROG_ATTACH
BPF_F_BEFORE = 1 << 3
BPF_F_AFTER = 1 << 4
BPF_F_ID = 1 << 5
BPF_F_LINK = 1 << 13

_TCX = {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}
_NETKIT = {"primary": AttachType.NETKIT_PRIMARY, "peer": AttachType.NETKIT_PEER}


def _direction(direction: str | None, attach_type: AttachType | int | None) -> str:
    if direction is None:
        if attach_type in (AttachType.TCX_EGRESS, int(AttachType.TCX_EGRESS)):
            return "egress"
        return "ingress"
    if direction not in _PARENT:
        raise ValueError(f"tc direction {direction!r}: use 'ingress' or 'egress'")
    return direction


# -- tcx -------------------------------------------------------------------------------------


def _relative(before: Any, after: Any, expected_revision: int) -> tuple[int, syslinks.Relative]:
    """Flags and relative target for tcx/netkit ordering (a Link, a program or a prog fd)."""
    if before is not None and after is not None:
        raise ValueError("give at most one of before= and after=")
    rel = before if before is not None else after
    flags = 0
    if rel is not None:
        flags = BPF_F_BEFORE if before is not None else BPF_F_AFTER
    if rel is None or rel is True:
        # True: first (before) / last (after) of all
        return flags, syslinks.Relative(expected_revision=expected_revision)
    if isinstance(rel, Link):
        return flags | BPF_F_LINK, syslinks.Relative(
            relative_fd=rel.link_fd(), expected_revision=expected_revision
        )
    return flags, syslinks.Relative(
        relative_fd=fd_of(rel, "relative program"), expected_revision=expected_revision
    )


def attach_tcx(
    prog_fd: Any,
    ifindex_or_name: int | str,
    *,
    direction: str | None = None,
    before: Any = None,
    after: Any = None,
    expected_revision: int = 0,
    method: str = "auto",
    prog_name: str = "",
    attach_type: AttachType | int | None = None,
) -> Link:
    """Attach a tc program with a tcx link on ``direction`` (default: the section's).

    ``before``/``after`` place it relative to a :class:`Link`, a program (fd) or,
    with ``True``, first/last of all. ``method="auto"`` falls back to
    :func:`attach_tc` (netlink cls_bpf) on kernels without tcx; ``"link"`` does not.
    """
    fd = fd_of(prog_fd, "tc program")
    d = _direction(direction, attach_type)
    ifindex = ifindex_of(ifindex_or_name)
    target = f"{ifname_of(ifindex)} {d}"
    flags, rel = _relative(before, after, expected_revision)
    try:
        lfd = syslinks.link_create(
            fd,
            ifindex,
            _TCX[d],
            flags=flags,
            relative=rel,
            op=f"attach tcx program {prog_name!r} to {target}",
        )
    except AttachError as exc:
        ordered = before is not None or after is not None
        if (
            method == "auto"
            and not ordered
            and exc.errno in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP)
        ):
            return attach_tc(fd, ifindex, direction=d, prog_name=prog_name)
        from pybpf.sys.kversions import before

        if exc.errno in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP) and before("6.6"):
            raise NotSupportedError(
                "tcx links" + (" (ordering with before/after)" if ordered else ""),
                "attach with method='auto' (netlink cls_bpf on a clsact qdisc) or attach_tc()",
                errno=exc.errno or 0,
                min_kernel="6.6",
            ) from exc
        raise
    return FDLink(lfd, "tcx", prog_name, target)


@dataclass(frozen=True)
class TcxState:
    """Programs and links attached by tcx, in run order, and the hook's revision."""

    prog_ids: list[int]
    link_ids: list[int]
    revision: int


def tcx_query(ifindex_or_name: int | str, direction: str = "ingress") -> TcxState:
    """BPF_PROG_QUERY of a device's tcx hook."""
    d = _direction(direction, None)
    res = sysprogs.prog_query(ifindex_of(ifindex_or_name), _TCX[d])
    return TcxState(res.prog_ids, res.link_ids, res.revision)


# -- netkit ----------------------------------------------------------------------------------


def attach_netkit(
    prog_fd: Any,
    ifindex_or_name: int | str,
    *,
    side: str | None = None,
    before: Any = None,
    after: Any = None,
    expected_revision: int = 0,
    prog_name: str = "",
    attach_type: AttachType | int | None = None,
) -> Link:
    """Attach a program to a netkit device's ``primary`` or ``peer`` side (a BPF link)."""
    fd = fd_of(prog_fd, "netkit program")
    if side is None:
        side = (
            "peer"
            if attach_type in (AttachType.NETKIT_PEER, int(AttachType.NETKIT_PEER))
            else "primary"
        )
    if side not in _NETKIT:
        raise ValueError(f"netkit side {side!r}: use 'primary' or 'peer'")
    ifindex = ifindex_of(ifindex_or_name)
    target = f"{ifname_of(ifindex)} {side}"
    flags, rel = _relative(before, after, expected_revision)
    try:
        lfd = syslinks.link_create(
            fd,
            ifindex,
            _NETKIT[side],
            flags=flags,
            relative=rel,
            op=f"attach netkit program {prog_name!r} to {target}",
        )
    except AttachError as exc:
        if exc.errno == errno.ENXIO:
            raise AttachError(
                exc.op, exc.errno, f"{ifname_of(ifindex)} is not a netkit device"
            ) from exc
        if exc.errno in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP) and not os.path.exists(
            "/sys/module/netkit"
        ):
            raise NotSupportedError(
                "netkit devices (CONFIG_NETKIT)",
                "use tcx links (attach_tcx) on veth devices instead",
                errno=exc.errno or 0,
                min_kernel="6.7",
            ) from exc
        raise
    return FDLink(lfd, "netkit", prog_name, target)


# -- classic tc (netlink) --------------------------------------------------------------------

# clsact qdiscs pybpf created, per (netns, ifindex): how many live filters of ours use them
_OUR_QDISCS: dict[tuple[int, int], int] = {}
_LOCK = threading.Lock()


def _qdisc_msg(mtype: int, ifindex: int, flags: int = 0) -> Message:
    return Message(
        mtype,
        TCMSG,
        {"ifindex": ifindex, "handle": CLSACT_HANDLE, "parent": TC_H_CLSACT},
        TCA_QDISC,
        {"kind": "clsact"},
        flags,
    )


def attach_tc(
    prog_fd: Any,
    ifindex_or_name: int | str,
    *,
    direction: str | None = None,
    priority: int = 0,
    handle: int = 0,
    prog_name: str = "",
    attach_type: AttachType | int | None = None,
) -> Link:
    """Attach a ``cls_bpf`` filter (direct action) on a clsact qdisc through rtnetlink.

    ``priority``/``handle`` 0 let the kernel choose. The link keeps its netlink
    socket, so it detaches in the namespace it attached in.
    """
    fd = fd_of(prog_fd, "tc program")
    d = _direction(direction, attach_type)
    ifindex = ifindex_of(ifindex_or_name)
    ifname = ifname_of(ifindex)
    target = f"{ifname} {d}"
    if not 0 <= priority <= 0xFFFF:
        raise ValueError(f"tc priority {priority} out of range 0..65535")
    key = (netns_inode(), ifindex)
    nl = NetlinkSocket()
    try:
        with _LOCK:
            _ensure_clsact(nl, ifindex, ifname, key)
            try:
                handle, priority = _add_filter(nl, fd, ifindex, d, priority, handle, prog_name)
            except BaseException:
                if _OUR_QDISCS.get(key) == 0:
                    _drop_qdisc(nl, ifindex, key)
                raise
            owns = key in _OUR_QDISCS
            if owns:
                _OUR_QDISCS[key] += 1
    except BaseException:
        nl.close()
        raise
    info = (priority << 16) | _htons(ETH_P_ALL)

    def undo() -> None:
        try:
            msg = Message(
                RTM.DELTFILTER,
                TCMSG,
                {"ifindex": ifindex, "handle": handle, "parent": _PARENT[d], "info": info},
                TCA,
                {"kind": "bpf"},
            )
            try:
                nl.request(msg, op=f"remove tc filter from {target}", error=AttachError)
            except KernelError as exc:
                if exc.errno not in (errno.ENOENT, errno.ENODEV, errno.EINVAL):
                    raise
            if owns:
                with _LOCK:
                    _OUR_QDISCS[key] -= 1
                    if _OUR_QDISCS[key] == 0:
                        _drop_qdisc(nl, ifindex, key)
        finally:
            nl.close()

    return CallbackLink(undo, "tc", prog_name, f"{target} prio {priority} handle {handle:#x}")


def _htons(v: int) -> int:
    return ((v & 0xFF) << 8) | (v >> 8)


def _ensure_clsact(nl: NetlinkSocket, ifindex: int, ifname: str, key: tuple[int, int]) -> None:
    try:
        nl.request(
            _qdisc_msg(RTM.NEWQDISC, ifindex, NLM_F.CREATE | NLM_F.EXCL),
            op=f"create clsact qdisc on {ifname}",
            error=AttachError,
        )
    except KernelError as exc:
        if exc.errno != errno.EEXIST:
            raise
        return  # someone's (maybe ours, from an earlier attach)
    _OUR_QDISCS[key] = 0


def _drop_qdisc(nl: NetlinkSocket, ifindex: int, key: tuple[int, int]) -> None:
    """Delete the clsact qdisc pybpf created, unless others' filters still use it."""
    _OUR_QDISCS.pop(key, None)
    try:
        if _filters(nl, ifindex, "ingress") or _filters(nl, ifindex, "egress"):
            return
        nl.request(
            _qdisc_msg(RTM.DELQDISC, ifindex),
            op=f"remove clsact qdisc from {ifname_of(ifindex)}",
            error=AttachError,
        )
    except KernelError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENODEV, errno.EINVAL):
            raise


def _add_filter(
    nl: NetlinkSocket, fd: int, ifindex: int, d: str, priority: int, handle: int, prog_name: str
) -> tuple[int, int]:
    msg = Message(
        RTM.NEWTFILTER,
        TCMSG,
        {
            "ifindex": ifindex,
            "handle": handle,
            "parent": _PARENT[d],
            "info": (priority << 16) | _htons(ETH_P_ALL),
        },
        TCA,
        {
            "kind": "bpf",
            "options": {
                "fd": fd,
                "name": prog_name or f"pybpf_fd{fd}",
                "flags": TCA_BPF_FLAG_ACT_DIRECT,
            },
        },
        NLM_F.CREATE | NLM_F.EXCL | NLM_F_ECHO,
    )
    replies = nl.request(
        msg,
        op=f"attach tc filter {prog_name!r} to {ifname_of(ifindex)} {d}",
        error=AttachError,
        reply=(TCMSG, TCA),
    )
    for r in replies:
        if r.type == RTM.NEWTFILTER and r.header["handle"]:
            return r.header["handle"], r.header["info"] >> 16
    if handle and priority:
        return handle, priority
    raise AttachError(
        f"attach tc filter {prog_name!r} to {ifname_of(ifindex)} {d}",
        errno.EPROTO,
        "the kernel did not echo the new filter's handle and priority; give both explicitly",
    )


@dataclass(frozen=True)
class TcFilter:
    """One tc filter on a clsact hook, as rtnetlink lists it."""

    kind: str
    priority: int
    handle: int
    name: str  # cls_bpf: the program name given at attach
    prog_id: int  # cls_bpf: the program's id
    direct_action: bool


def _filters(nl: NetlinkSocket, ifindex: int, d: str) -> list[TcFilter]:
    msg = Message(
        RTM.GETTFILTER, TCMSG, {"ifindex": ifindex, "parent": _PARENT[d]}, TCA, {}, NLM_F.DUMP
    )
    try:
        replies = nl.request(
            msg, op=f"list tc filters of {ifname_of(ifindex)} {d}", reply=(TCMSG, TCA)
        )
    except KernelError as exc:
        if exc.errno in (errno.EINVAL, errno.ENOENT):
            return []  # no clsact qdisc
        raise
    out = []
    for r in replies:
        if r.header["ifindex"] != ifindex or not r.header["handle"]:
            continue  # the per-priority header entries carry handle 0
        opts = r.attrs.get("options") if r.attrs.get("kind") == "bpf" else None
        opts = opts if isinstance(opts, dict) else {}
        out.append(
            TcFilter(
                kind=str(r.attrs.get("kind", "")),
                priority=r.header["info"] >> 16,
                handle=r.header["handle"],
                name=str(opts.get("name", "")),
                prog_id=int(opts.get("id") or 0),
                direct_action=bool(int(opts.get("flags") or 0) & TCA_BPF_FLAG_ACT_DIRECT),
            )
        )
    return out


def tc_filters(ifindex_or_name: int | str, direction: str = "ingress") -> list[TcFilter]:
    """The filters on a device's clsact ingress/egress hook (empty without clsact)."""
    d = _direction(direction, None)
    with NetlinkSocket() as nl:
        return _filters(nl, ifindex_of(ifindex_or_name), d)


def tc_qdiscs(ifindex_or_name: int | str) -> list[str]:
    """The kinds of the qdiscs on a device (``clsact``, ``noqueue``, ...)."""
    ifindex = ifindex_of(ifindex_or_name)
    msg = Message(RTM.GETQDISC, TCMSG, {"ifindex": ifindex}, TCA_QDISC, {}, NLM_F.DUMP)
    with NetlinkSocket() as nl:
        replies = nl.request(
            msg, op=f"list qdiscs of {ifname_of(ifindex)}", reply=(TCMSG, TCA_QDISC)
        )
    return [str(r.attrs.get("kind", "")) for r in replies if r.header["ifindex"] == ifindex]

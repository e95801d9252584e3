"""XDP: attach a program to a network interface.

BPF links (BPF_LINK_CREATE with BPF_XDP, kernel 5.9+) are preferred: the
attachment disappears with the link fd. Older kernels (or ``method="netlink"``)
get the rtnetlink IFLA_XDP path; that link removes the program on close only if
it is still the one attached (XDP_FLAGS_REPLACE with the expected fd).
"""

from __future__ import annotations

import errno
from typing import Any

from pybpf._dataclass import dataclass
from pybpf.errors import AttachError, KernelError
from pybpf.link.base import CallbackLink, FDLink, Link
from pybpf.sys import links as syslinks
from pybpf.sys.fd import dup_fd, fd_of
from pybpf.sys.netlink import IFINFOMSG, IFLA, RTM, Message, NetlinkSocket, ifindex_of, ifname_of
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType

__all__ = ["XDP_FLAGS", "XdpState", "attach_xdp", "xdp_query"]


class XDP_FLAGS:
    """``XDP_FLAGS_*`` of if_link.h."""

    UPDATE_IF_NOEXIST = 1 << 0
    SKB_MODE = 1 << 1
    DRV_MODE = 1 << 2
    HW_MODE = 1 << 3
    REPLACE = 1 << 4
    MODES = SKB_MODE | DRV_MODE | HW_MODE


_MODES = {
    "auto": 0,
    "skb": XDP_FLAGS.SKB_MODE,
    "generic": XDP_FLAGS.SKB_MODE,
    "drv": XDP_FLAGS.DRV_MODE,
    "native": XDP_FLAGS.DRV_MODE,
    "hw": XDP_FLAGS.HW_MODE,
    "offload": XDP_FLAGS.HW_MODE,
}


def _mode_flags(mode: str, flags: int) -> int:
    try:
        return _MODES[mode] | flags
    except KeyError as exc:
        raise ValueError(f"XDP mode {mode!r}: use one of {', '.join(_MODES)}") from exc


def attach_xdp(
    prog_fd: Any,
    ifindex_or_name: int | str,
    *,
    mode: str = "auto",
    flags: int = 0,
    method: str = "auto",
    prog_name: str = "",
    attach_type: AttachType | int | None = None,
) -> Link:
    """Attach an XDP program to an interface (index or name, in this thread's netns).

    ``mode`` picks generic (``skb``), driver (``drv``) or offloaded (``hw``) XDP;
    ``auto`` lets the kernel choose. ``method`` is ``link`` (BPF link), ``netlink``
    (IFLA_XDP, for old kernels) or ``auto`` (link, falling back to netlink).
    """
    del attach_type  # always BPF_XDP here
    fd = fd_of(prog_fd, "XDP program")
    ifindex = ifindex_of(ifindex_or_name)
    mflags = _mode_flags(mode, flags)
    target = ifname_of(ifindex)
    if method not in ("auto", "link", "netlink"):
        raise ValueError(f"method {method!r}: use 'auto', 'link' or 'netlink'")
    if method in ("auto", "link"):
        try:
            lfd = syslinks.link_create(
                fd,
                ifindex,
                AttachType.XDP,
                flags=mflags & XDP_FLAGS.MODES,
                op=f"attach XDP program {prog_name!r} to {target}",
            )
            return FDLink(lfd, "xdp", prog_name, target)
        except AttachError as exc:
            if method == "link" or exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, ENOTSUPP):
                raise _explain(exc, target) from exc
    return _attach_netlink(fd, ifindex, mflags, prog_name, target)


def _explain(exc: KernelError, target: str) -> KernelError:
    if exc.errno == errno.EBUSY:
        return AttachError(
            exc.op,
            errno.EBUSY,
            hint=f"another XDP program is attached to {target}; detach it first "
            f"(`ip link set dev {target} xdp off`)",
        )
    return exc


def _attach_netlink(prog_fd: int, ifindex: int, mflags: int, prog_name: str, target: str) -> Link:
    """IFLA_XDP attach; the link keeps its netlink socket (and netns) for the detach."""
    nl = NetlinkSocket()
    try:
        _set_xdp(
            nl,
            ifindex,
            {"fd": prog_fd, "flags": mflags | XDP_FLAGS.UPDATE_IF_NOEXIST},
            op=f"attach XDP program {prog_name!r} to {target} (netlink)",
        )
    except BaseException as exc:
        nl.close()
        if isinstance(exc, KernelError):
            raise _explain(exc, target) from exc
        raise
    held = dup_fd(prog_fd, "prog")  # the expected program at detach time

    def undo() -> None:
        try:
            attrs = {
                "fd": -1,
                "flags": (mflags & XDP_FLAGS.MODES) | XDP_FLAGS.REPLACE,
                "expected_fd": held.fileno(),
            }
            try:
                _set_xdp(nl, ifindex, attrs, op=f"detach XDP program from {target} (netlink)")
            except KernelError as exc:
                if exc.errno in (errno.EEXIST, errno.ENODEV):
                    return  # replaced by someone else, or the device is gone
                raise
        finally:
            held.close()
            nl.close()

    return CallbackLink(undo, "xdp", prog_name, target)


def _set_xdp(nl: NetlinkSocket, ifindex: int, xdp: dict[str, int], *, op: str) -> None:
    msg = Message(RTM.SETLINK, IFINFOMSG, {"index": ifindex}, IFLA, {"xdp": xdp})
    nl.request(msg, op=op, error=AttachError)


@dataclass(frozen=True)
class XdpState:
    """What rtnetlink reports about an interface's XDP programs (ids 0: none)."""

    attached: int  # XDP_ATTACHED_*: 0 none, 1 drv, 2 skb, 3 hw, 4 multi
    prog_id: int
    drv_prog_id: int
    skb_prog_id: int
    hw_prog_id: int


def xdp_query(ifindex_or_name: int | str) -> XdpState:
    """The XDP programs attached to an interface (RTM_GETLINK)."""
    ifindex = ifindex_of(ifindex_or_name)
    msg = Message(RTM.GETLINK, IFINFOMSG, {"index": ifindex}, IFLA, {})
    with NetlinkSocket() as nl:
        replies = nl.request(
            msg, op=f"query XDP state of {ifname_of(ifindex)}", reply=(IFINFOMSG, IFLA)
        )
    xdp: dict[str, Any] = replies[0].attrs.get("xdp", {}) if replies else {}
    return XdpState(
        attached=int(xdp.get("attached") or 0),
        prog_id=int(xdp.get("prog_id") or 0),
        drv_prog_id=int(xdp.get("drv_prog_id") or 0),
        skb_prog_id=int(xdp.get("skb_prog_id") or 0),
        hw_prog_id=int(xdp.get("hw_prog_id") or 0),
    )

"""Lightweight-tunnel programs: a route whose encapsulation runs a BPF program.

``attach_lwt`` adds a route (rtnetlink RTM_NEWROUTE) to ``dst`` through ``dev``
with an LWTUNNEL_ENCAP_BPF encapsulation running the program on the ``in``,
``out`` or ``xmit`` path (from the program type unless given); closing the link
deletes that route. Routes live in the namespace of the calling thread.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any

from pybpf.errors import AttachError, KernelError
from pybpf.link.base import CallbackLink, Link
from pybpf.sys.fd import fd_of
from pybpf.sys.info import prog_info
from pybpf.sys.netlink import NLM_F, RTM, RTMSG, Message, NetlinkSocket, Policy, ifindex_of
from pybpf.uapi.enums import AttachType, ProgType

__all__ = ["attach_lwt"]

LWTUNNEL_ENCAP_BPF = 6
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RTN_UNICAST = 1

_LWT_PROG = Policy("LWT_BPF_PROG", {"fd": (1, "u32"), "name": (2, "str")})
_LWT_BPF = Policy(
    "LWT_BPF",
    {"in": (1, _LWT_PROG), "out": (2, _LWT_PROG), "xmit": (3, _LWT_PROG), "headroom": (4, "u32")},
)
_RTA4 = Policy(
    "RTA",
    {
        "dst": (1, "bytes"),
        "oif": (4, "u32"),
        "gateway": (5, "bytes"),
        "table": (15, "u32"),
        "encap_type": (21, "u16"),
        "encap": (22, _LWT_BPF),
    },
)
_HOOK_OF: dict[int, str] = {
    ProgType.LWT_IN: "in",
    ProgType.LWT_OUT: "out",
    ProgType.LWT_XMIT: "xmit",
}


def attach_lwt(
    prog_fd: Any,
    dst: str,
    dev: int | str,
    *,
    hook: str | None = None,
    gateway: str | None = None,
    table: int = RT_TABLE_MAIN,
    headroom: int = 0,
    prog_name: str = "",
    attach_type: AttachType | int | None = None,
) -> Link:
    """Route ``dst`` (a prefix like ``10.1.0.0/24``) via ``dev`` through the LWT program."""
    del attach_type
    fd = fd_of(prog_fd, "lwt program")
    if hook is None:
        ptype = prog_info(fd).type
        hook = _HOOK_OF.get(int(ptype))
        if hook is None:
            raise AttachError(
                f"attach lwt program {prog_name!r}",
                errno.EINVAL,
                f"a {ptype!r} program is not lwt_in/lwt_out/lwt_xmit; give hook=",
            )
    if hook not in ("in", "out", "xmit"):
        raise ValueError(f"lwt hook {hook!r}: use 'in', 'out' or 'xmit'")
    net = ipaddress.ip_network(dst, strict=False)
    family = socket.AF_INET if net.version == 4 else socket.AF_INET6
    ifindex = ifindex_of(dev)
    header = {
        "family": family,
        "dst_len": net.prefixlen,
        "table": table if table < 256 else 0,
        "protocol": RTPROT_STATIC,
        "scope": RT_SCOPE_UNIVERSE if gateway else RT_SCOPE_LINK,
        "type": RTN_UNICAST,
    }
    base: dict[str, Any] = {
        "dst": net.network_address.packed,
        "oif": ifindex,
        "gateway": ipaddress.ip_address(gateway).packed if gateway else None,
        "table": table,
    }
    encap: dict[str, Any] = {hook: {"fd": fd, "name": prog_name or f"pybpf_fd{fd}"}}
    if headroom:
        encap["headroom"] = headroom
    where = f"route {net} dev {dev} (lwt {hook})"
    nl = NetlinkSocket()
    try:
        nl.request(
            Message(
                RTM.NEWROUTE,
                RTMSG,
                header,
                _RTA4,
                {**base, "encap_type": LWTUNNEL_ENCAP_BPF, "encap": encap},
                NLM_F.CREATE | NLM_F.EXCL,
            ),
            op=f"attach lwt program {prog_name!r}: add {where}",
            error=AttachError,
        )
    except BaseException:
        nl.close()
        raise

    def undo() -> None:
        try:
            nl.request(
                Message(RTM.DELROUTE, RTMSG, header, _RTA4, base),
                op=f"remove {where}",
                error=AttachError,
            )
        except KernelError as exc:
            if exc.errno not in (errno.ESRCH, errno.ENODEV, errno.ENOENT):
                raise
        finally:
            nl.close()

    return CallbackLink(undo, "lwt", prog_name, where)

"""netfilter programs: a BPF link on a netfilter hook (kernel 6.4+).

The hook is a protocol family (``ipv4``/``ipv6`` or NFPROTO_*), a hook number
(``prerouting``, ``local_in``, ``forward``, ``local_out``, ``postrouting`` or
NF_INET_*) and a priority (neither INT_MIN nor INT_MAX, which netfilter keeps
for itself), in the calling thread's network namespace.
"""

from __future__ import annotations

import errno
from typing import Any

from pybpf.errors import AttachError, NotSupportedError
from pybpf.link.base import FDLink, Link
from pybpf.sys import links as syslinks
from pybpf.sys.fd import fd_of
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType

__all__ = ["BPF_F_NETFILTER_IP_DEFRAG", "HOOKS", "PROTOCOLS", "attach_netfilter"]

PROTOCOLS = {"inet": 1, "ipv4": 2, "arp": 3, "netdev": 5, "bridge": 7, "ipv6": 10}
HOOKS = {"prerouting": 0, "local_in": 1, "forward": 2, "local_out": 3, "postrouting": 4}
BPF_F_NETFILTER_IP_DEFRAG = 1


def _lookup(table: dict[str, int], value: str | int, what: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return table[value.lower()]
    except KeyError as exc:
        raise ValueError(f"netfilter {what} {value!r}: use one of {', '.join(table)}") from exc


def attach_netfilter(
    prog_fd: Any,
    pf: str | int = "ipv4",
    hooknum: str | int = "local_in",
    priority: int = 0,
    *,
    flags: int = 0,
    prog_name: str = "",
    attach_type: AttachType | int | None = None,
) -> Link:
    """Attach a netfilter program at (``pf``, ``hooknum``, ``priority``)."""
    del attach_type
    fd = fd_of(prog_fd, "netfilter program")
    pfn = _lookup(PROTOCOLS, pf, "protocol family")
    hook = _lookup(HOOKS, hooknum, "hook")
    where = f"netfilter pf {pf} hook {hooknum} priority {priority}"
    try:
        lfd = syslinks.link_create(
            fd,
            0,
            AttachType.NETFILTER,
            netfilter=syslinks.Netfilter(pf=pfn, hooknum=hook, priority=priority, flags=flags),
            op=f"attach netfilter program {prog_name!r} to {where}",
        )
    except AttachError as exc:
        if exc.errno in (errno.EOPNOTSUPP, ENOTSUPP) or (
            exc.errno == errno.EINVAL and not _kernel_knows_netfilter_links()
        ):
            raise NotSupportedError(
                "netfilter BPF links (CONFIG_NETFILTER_BPF_LINK, kernel 6.4+)",
                "filter with tc/tcx or XDP programs instead",
                errno=exc.errno or 0,
                min_kernel="6.4",
            ) from exc
        raise
    return FDLink(lfd, "netfilter", prog_name, where)


def _kernel_knows_netfilter_links() -> bool:
    from pybpf.sys import features
    from pybpf.uapi.enums import ProgType

    try:
        return bool(features.has_prog_type(ProgType.NETFILTER))
    except Exception:
        return True

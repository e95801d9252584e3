"""sk_msg and sk_skb programs on a sockmap or sockhash.

The program runs for the sockets in the map: sk_msg on sendmsg (SK_MSG_VERDICT),
sk_skb on receive (SK_SKB_STREAM_PARSER / STREAM_VERDICT / VERDICT). Kernels 6.10+
make this a BPF link on the map; older ones get BPF_PROG_ATTACH, which the
returned link undoes with BPF_PROG_DETACH of exactly this program.
"""

from __future__ import annotations

import errno
from typing import Any

from pybpf.errors import AttachError, BPFError, KernelError
from pybpf.link.base import CallbackLink, FDLink, Link
from pybpf.sys import links as syslinks
from pybpf.sys import progs as sysprogs
from pybpf.sys.fd import dup_fd, fd_of
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType

__all__ = ["SOCKMAP_ATTACH_TYPES", "attach_sockmap"]

SOCKMAP_ATTACH_TYPES = (
    AttachType.SK_MSG_VERDICT,
    AttachType.SK_SKB_STREAM_PARSER,
    AttachType.SK_SKB_STREAM_VERDICT,
    AttachType.SK_SKB_VERDICT,
)


def attach_sockmap(
    prog_fd: Any,
    map_fd: Any,
    *,
    attach_type: AttachType | int | None = None,
    method: str = "auto",
    prog_name: str = "",
) -> Link:
    """Attach to a sockmap/sockhash (a :class:`~pybpf.map.Map` or its fd).

    ``method``: ``link``, ``legacy`` (BPF_PROG_ATTACH) or ``auto`` (link, then legacy).
    """
    if attach_type is None:
        raise BPFError(
            "sockmap attach needs attach_type= (SK_MSG_VERDICT, SK_SKB_STREAM_PARSER, "
            "SK_SKB_STREAM_VERDICT or SK_SKB_VERDICT; sk_msg / sk_skb/... sections give it)"
        )
    if int(attach_type) not in SOCKMAP_ATTACH_TYPES:
        raise BPFError(f"attach type {attach_type!r} does not attach to a sockmap")
    if method not in ("auto", "link", "legacy"):
        raise ValueError(f"method {method!r}: use 'auto', 'link' or 'legacy'")
    at = AttachType(int(attach_type))
    fd = fd_of(prog_fd, "sockmap program")
    mfd = fd_of(map_fd, "sockmap")
    what = f"attach {at.name.lower()} program {prog_name!r} to map fd {mfd}"
    target = f"map fd {mfd} ({at.name.lower()})"
    if method != "legacy":
        try:
            lfd = syslinks.link_create(fd, mfd, at, op=what)
            return FDLink(lfd, "sockmap", prog_name, target)
        except AttachError as exc:
            if method == "link" or exc.errno not in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP):
                raise
    sysprogs.prog_attach(mfd, fd, at)
    held_map = dup_fd(mfd, "map")
    held_prog = dup_fd(fd, "prog")

    def undo() -> None:
        try:
            try:
                sysprogs.prog_detach(held_map, at, held_prog)
            except KernelError as exc:
                if exc.errno != errno.ENOENT:
                    raise
        finally:
            held_map.close()
            held_prog.close()

    return CallbackLink(undo, "sockmap", prog_name, target)

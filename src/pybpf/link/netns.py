"""Programs attached to a network namespace: sk_lookup and flow_dissector.

Both are BPF links on a netns fd (BPF_LINK_CREATE); the namespace is given as
an `ip netns` name, a path such as ``/proc/<pid>/ns/net``, an fd, or None for
the calling thread's own. flow_dissector falls back to BPF_PROG_ATTACH on
kernels without netns links (before 5.8).
"""

from __future__ import annotations

import errno
import os
from typing import Any

from pybpf.errors import AttachError, KernelError
from pybpf.link.base import CallbackLink, FDLink, Link
from pybpf.sys import links as syslinks
from pybpf.sys import progs as sysprogs
from pybpf.sys.fd import dup_fd, fd_of
from pybpf.sys.netns import netns_fd, run_in_netns
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType

__all__ = ["attach_flow_dissector", "attach_sk_lookup", "run_in_netns"]

NetnsLike = str | os.PathLike[str] | int | None


def _target(netns: NetnsLike) -> str:
    return (
        "this netns"
        if netns is None
        else f"netns {os.fspath(netns) if not isinstance(netns, int) else f'fd {netns}'}"
    )


def attach_sk_lookup(
    prog_fd: Any,
    netns: NetnsLike = None,
    *,
    prog_name: str = "",
    attach_type: AttachType | int | None = None,
) -> Link:
    """Attach an sk_lookup program to a network namespace (BPF link)."""
    del attach_type
    fd = fd_of(prog_fd, "sk_lookup program")
    where = _target(netns)
    with netns_fd(netns) as ns:
        lfd = syslinks.link_create(
            fd, ns, AttachType.SK_LOOKUP, op=f"attach sk_lookup program {prog_name!r} to {where}"
        )
    return FDLink(lfd, "sk_lookup", prog_name, where)


def attach_flow_dissector(
    prog_fd: Any,
    netns: NetnsLike = None,
    *,
    method: str = "auto",
    prog_name: str = "",
    attach_type: AttachType | int | None = None,
) -> Link:
    """Attach a flow dissector to a network namespace (link, or BPF_PROG_ATTACH fallback)."""
    del attach_type
    fd = fd_of(prog_fd, "flow_dissector program")
    where = _target(netns)
    what = f"attach flow_dissector program {prog_name!r} to {where}"
    with netns_fd(netns) as ns:
        if method != "legacy":
            try:
                lfd = syslinks.link_create(fd, ns, AttachType.FLOW_DISSECTOR, op=what)
                return FDLink(lfd, "flow_dissector", prog_name, where)
            except AttachError as exc:
                if method == "link" or exc.errno not in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP):
                    raise
        # BPF_PROG_ATTACH of flow dissectors acts on the caller's netns
        held_ns = ns.dup()
    held_prog = dup_fd(fd, "prog")

    def attach() -> None:
        sysprogs.prog_attach(0, held_prog, AttachType.FLOW_DISSECTOR)

    def detach() -> None:
        sysprogs.prog_detach(0, AttachType.FLOW_DISSECTOR, held_prog)

    try:
        run_in_netns(held_ns.fileno(), attach)
    except BaseException:
        held_ns.close()
        held_prog.close()
        raise

    def undo() -> None:
        try:
            try:
                run_in_netns(held_ns.fileno(), detach)
            except KernelError as exc:
                if exc.errno != errno.ENOENT:
                    raise
        finally:
            held_ns.close()
            held_prog.close()

    return CallbackLink(undo, "flow_dissector", prog_name, where)

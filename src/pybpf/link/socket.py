"""Programs attached to one socket: socket filters and SO_REUSEPORT selectors.

``attach_socket`` uses SO_ATTACH_BPF (the filter sees every packet queued to the
socket and may trim or drop it); ``attach_reuseport`` uses
SO_ATTACH_REUSEPORT_EBPF on a member of a reuseport group. Both return a link
that detaches with the matching SO_DETACH_* option.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from pybpf.errors import AttachError
from pybpf.link.base import CallbackLink, Link
from pybpf.sys.fd import fd_of
from pybpf.uapi.enums import AttachType

__all__ = ["attach_reuseport", "attach_socket"]

SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27  # SO_DETACH_FILTER
SO_ATTACH_REUSEPORT_EBPF = 52
SO_DETACH_REUSEPORT_BPF = 68


def _socket(sock: Any) -> tuple[socket.socket, bool]:
    """A socket object for ``sock`` and whether we made it (a dup of an fd)."""
    if isinstance(sock, socket.socket):
        return sock, False
    fd = fd_of(sock, "socket")
    try:
        return socket.socket(fileno=socket.dup(fd)), True
    except OSError as exc:
        raise AttachError(f"use fd {fd} as a socket", exc.errno or errno.ENOTSOCK) from None


def _attach(prog_fd: Any, sock: Any, opt: int, undo_opt: int, kind: str, prog_name: str) -> Link:
    fd = fd_of(prog_fd, f"{kind} program")
    s, owned = _socket(sock)
    where = f"socket fd {s.fileno()}"
    try:
        s.setsockopt(socket.SOL_SOCKET, opt, fd)
    except OSError as exc:
        if owned:
            s.close()
        hint = None
        if exc.errno == errno.EINVAL and kind == "sk_reuseport":
            hint = "set SO_REUSEPORT on the socket (and bind it) first"
        raise AttachError(
            f"attach {kind} program {prog_name!r} to {where}", exc.errno or errno.EINVAL, hint=hint
        ) from None

    def undo() -> None:
        try:
            if s.fileno() < 0:
                return  # closed: the kernel dropped the program with it
            try:
                s.setsockopt(socket.SOL_SOCKET, undo_opt, 0)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.EBADF):
                    raise AttachError(
                        f"detach {kind} program {prog_name!r} from {where}", exc.errno or errno.EIO
                    ) from None
        finally:
            if owned:
                s.close()

    return CallbackLink(undo, kind, prog_name, where)


def attach_socket(
    prog_fd: Any, sock: Any, *, prog_name: str = "", attach_type: AttachType | int | None = None
) -> Link:
    """Attach a socket filter program to ``sock`` (a socket object or fd) with SO_ATTACH_BPF."""
    del attach_type
    return _attach(prog_fd, sock, SO_ATTACH_BPF, SO_DETACH_BPF, "socket_filter", prog_name)


def attach_reuseport(
    prog_fd: Any, sock: Any, *, prog_name: str = "", attach_type: AttachType | int | None = None
) -> Link:
    """Attach an sk_reuseport program to the reuseport group of ``sock``."""
    del attach_type
    return _attach(
        prog_fd, sock, SO_ATTACH_REUSEPORT_EBPF, SO_DETACH_REUSEPORT_BPF, "sk_reuseport", prog_name
    )

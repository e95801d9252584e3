"""Programs attached to one socket: socket filters and SO_REUSEPORT selectors.

``attach_socket`` uses SO_ATTACH_BPF (the filter sees every packet queued to the
socket and may trim or drop it); ``attach_reuseport`` uses
SO_ATTACH_REUSEPORT_EBPF on a member of a reuseport group. Both return a link
that detaches with the matching SO_DETACH_* option (see :mod:`pybpf.sys.sockopt`).
"""

from __future__ import annotations

import socket
from typing import Any, Protocol

from pybpf.errors import AttachError, KernelError
from pybpf.link.base import CallbackLink, Link
from pybpf.sys import sockopt
from pybpf.sys.fd import fd_of
from pybpf.uapi.enums import AttachType

__all__ = ["attach_reuseport", "attach_socket"]


class _Attach(Protocol):
    """A :mod:`pybpf.sys.sockopt` attach call (SO_ATTACH_*)."""

    def __call__(
        self, sock: socket.socket, prog_fd: int, *, op: str, error: type[KernelError] = ...
    ) -> None: ...


class _Detach(Protocol):
    """A :mod:`pybpf.sys.sockopt` detach call (SO_DETACH_*)."""

    def __call__(self, sock: socket.socket, *, op: str, error: type[KernelError] = ...) -> bool: ...


def _socket(sock: Any) -> tuple[socket.socket, bool]:
    """A socket object for ``sock`` and whether we made it (a dup of an fd)."""
    if isinstance(sock, socket.socket):
        return sock, False
    return sockopt.socket_of_fd(fd_of(sock, "socket"), error=AttachError), True


def _attach(
    prog_fd: Any, sock: Any, attach: _Attach, detach: _Detach, kind: str, prog_name: str
) -> Link:
    fd = fd_of(prog_fd, f"{kind} program")
    s, owned = _socket(sock)
    where = f"socket fd {s.fileno()}"
    try:
        attach(s, fd, op=f"attach {kind} program {prog_name!r} to {where}", error=AttachError)
    except KernelError:
        if owned:
            s.close()
        raise

    def undo() -> None:
        try:
            detach(s, op=f"detach {kind} program {prog_name!r} from {where}", error=AttachError)
        finally:
            if owned:
                s.close()

    return CallbackLink(undo, kind, prog_name, where)


def attach_socket(
    prog_fd: Any, sock: Any, *, prog_name: str = "", attach_type: AttachType | int | None = None
) -> Link:
    """Attach a socket filter program to ``sock`` (a socket object or fd) with SO_ATTACH_BPF."""
    del attach_type
    return _attach(
        prog_fd,
        sock,
        sockopt.attach_socket_filter,
        sockopt.detach_socket_filter,
        "socket_filter",
        prog_name,
    )


def attach_reuseport(
    prog_fd: Any, sock: Any, *, prog_name: str = "", attach_type: AttachType | int | None = None
) -> Link:
    """Attach an sk_reuseport program to the reuseport group of ``sock``."""
    del attach_type
    return _attach(
        prog_fd,
        sock,
        sockopt.attach_reuseport_prog,
        sockopt.detach_reuseport_prog,
        "sk_reuseport",
        prog_name,
    )

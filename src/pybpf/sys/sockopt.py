"""BPF socket options: SO_ATTACH_BPF and SO_ATTACH_REUSEPORT_EBPF with their detaches.

A socket filter or an SO_REUSEPORT selector is attached with setsockopt(2) on the
socket itself, not with bpf(2); these wrappers are that call, with failures turned
into typed :class:`~pybpf.errors.KernelError` subclasses naming the operation.
"""

from __future__ import annotations

import errno
import os
import socket

from pybpf.errors import KernelError

__all__ = [
    "SO_ATTACH_BPF",
    "SO_ATTACH_REUSEPORT_EBPF",
    "SO_DETACH_BPF",
    "SO_DETACH_REUSEPORT_BPF",
    "attach_reuseport_prog",
    "attach_socket_filter",
    "detach_reuseport_prog",
    "detach_socket_filter",
    "socket_of_fd",
]

SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27  # SO_DETACH_FILTER
SO_ATTACH_REUSEPORT_EBPF = 52
SO_DETACH_REUSEPORT_BPF = 68


def socket_of_fd(fd: int, *, error: type[KernelError] = KernelError) -> socket.socket:
    """A socket object over a dup of ``fd`` (the caller owns and closes it)."""
    try:
        dup = os.dup(fd)
    except OSError as exc:
        raise error(f"use fd {fd} as a socket", exc.errno or errno.ENOTSOCK) from exc
    try:
        return socket.socket(fileno=dup)
    except OSError as exc:
        os.close(dup)
        raise error(f"use fd {fd} as a socket", exc.errno or errno.ENOTSOCK) from exc


def _set(
    sock: socket.socket,
    opt: int,
    value: int,
    *,
    op: str,
    error: type[KernelError],
    einval_hint: str | None = None,
) -> None:
    """setsockopt(SOL_SOCKET, opt, value) raising ``error(op, ...)`` on failure."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, opt, value)
    except OSError as exc:
        hint = einval_hint if exc.errno == errno.EINVAL else None
        raise error(op, exc.errno or errno.EINVAL, hint=hint) from exc


def _unset(sock: socket.socket, opt: int, *, op: str, error: type[KernelError]) -> bool:
    """A detach option; False when nothing was attached or the socket is gone."""
    if sock.fileno() < 0:
        return False  # closed: the kernel dropped the program with it
    try:
        sock.setsockopt(socket.SOL_SOCKET, opt, 0)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.EBADF):
            return False
        raise error(op, exc.errno or errno.EIO) from exc
    return True


def attach_socket_filter(
    sock: socket.socket, prog_fd: int, *, op: str, error: type[KernelError] = KernelError
) -> None:
    """SO_ATTACH_BPF: ``prog_fd`` filters every packet queued to ``sock``."""
    _set(sock, SO_ATTACH_BPF, prog_fd, op=op, error=error)


def detach_socket_filter(
    sock: socket.socket, *, op: str, error: type[KernelError] = KernelError
) -> bool:
    """SO_DETACH_BPF; True if a filter was removed."""
    return _unset(sock, SO_DETACH_BPF, op=op, error=error)


def attach_reuseport_prog(
    sock: socket.socket, prog_fd: int, *, op: str, error: type[KernelError] = KernelError
) -> None:
    """SO_ATTACH_REUSEPORT_EBPF: ``prog_fd`` selects sockets in ``sock``'s reuseport group."""
    hint = "set SO_REUSEPORT on the socket (and bind it) first"
    _set(sock, SO_ATTACH_REUSEPORT_EBPF, prog_fd, op=op, error=error, einval_hint=hint)


def detach_reuseport_prog(
    sock: socket.socket, *, op: str, error: type[KernelError] = KernelError
) -> bool:
    """SO_DETACH_REUSEPORT_BPF; True if a program was removed."""
    return _unset(sock, SO_DETACH_REUSEPORT_BPF, op=op, error=error)

"""Kernel calls of the network attach modules that ``pybpf.sys`` does not offer.

Network-namespace plumbing (setns(2), opening a namespace, running a function
inside one) and turning the many ways users name an fd into a number.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pybpf.errors import KernelError
from pybpf.sys._ffi import libc
from pybpf.sys.fd import FD

__all__ = ["CLONE_NEWNET", "dup_fd", "fd_of", "netns_fd", "netns_inode", "run_in_netns", "setns"]

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = Path("/var/run/netns")

T = TypeVar("T")


def fd_of(obj: Any, what: str = "object") -> int:
    """The fd number of an int, :class:`FD`, or anything with ``fd``/``fileno()``."""
    if isinstance(obj, bool):
        raise TypeError(f"expected a file descriptor for the {what}, got {obj!r}")
    if isinstance(obj, int):
        return obj
    if isinstance(obj, FD):
        return obj.fileno()
    fd = getattr(obj, "fd", None)
    if isinstance(fd, int):
        return fd
    if isinstance(fd, FD):
        return fd.fileno()
    fileno = getattr(obj, "fileno", None)
    if callable(fileno):
        return int(fileno())
    raise TypeError(f"expected a file descriptor for the {what}, got {type(obj).__name__}")


def dup_fd(fd: int, kind: str = "fd") -> FD:
    """An owned close-on-exec duplicate of ``fd`` (kept to undo an attachment later)."""
    try:
        return FD(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 1), kind)
    except OSError as exc:
        raise KernelError(f"duplicate {kind} fd {fd}", exc.errno or errno.EBADF) from None


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    """setns(2) for the calling thread."""
    if libc.setns(fd, nstype) < 0:
        err = ctypes.get_errno()
        raise KernelError("enter namespace (setns)", err)


def netns_fd(netns: str | os.PathLike[str] | int | None) -> FD:
    """An owned fd of a network namespace: None (this thread's), a name under
    /var/run/netns (``ip netns``), a path (``/proc/<pid>/ns/net``) or an fd (duplicated)."""
    if netns is None:
        path: str = "/proc/thread-self/ns/net"
    elif isinstance(netns, int):
        return FD(os.dup(netns), "netns")
    else:
        path = os.fspath(netns)
        if os.sep not in path:
            path = str(NETNS_RUN_DIR / path)
    try:
        return FD(os.open(path, os.O_RDONLY | os.O_CLOEXEC), "netns")
    except OSError as exc:
        raise KernelError(
            f"open network namespace {path}",
            exc.errno or errno.ENOENT,
            hint="give an `ip netns` name, a /proc/<pid>/ns/net path or an open fd",
        ) from None


def netns_inode(fd: int | None = None) -> int:
    """Identity (inode) of the network namespace of ``fd`` or of the calling thread."""
    if fd is None:
        return os.stat("/proc/thread-self/ns/net").st_ino
    return os.fstat(fd).st_ino


def run_in_netns(netns: str | os.PathLike[str] | int, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn(*args)`` in a helper thread that entered ``netns``; return or raise its result.

    Sockets and BPF links created there stay in that namespace after the thread ends.
    """
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            with netns_fd(netns) as fd:
                setns(fd.fileno())
            box["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    t = threading.Thread(target=body, name="pybpf-netns")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value

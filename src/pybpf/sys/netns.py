"""Network namespaces: open one, enter it (setns(2)), run a function inside it.

Attachments scoped to a namespace (sk_lookup, flow_dissector, tcx, XDP on a veth
peer) are made from a helper thread that entered the target namespace, so the
calling thread never changes namespace.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pybpf.errors import KernelError
from pybpf.sys._ffi import libc
from pybpf.sys.fd import FD, dup_fd

__all__ = ["CLONE_NEWNET", "NETNS_RUN_DIR", "netns_fd", "netns_inode", "run_in_netns", "setns"]

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = Path("/var/run/netns")

T = TypeVar("T")


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
        return dup_fd(netns, "netns")
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
        ) from exc


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

"""BPF iterators (``iter/task``, ``iter/bpf_map_elem``, ...): a link read as a file.

Each :meth:`IterLink.open` (BPF_ITER_CREATE) starts a fresh pass; reading it runs
the program over the kernel objects and returns what it printed (BPF_SEQ_PRINTF).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from typing import BinaryIO

from pybpf.errors import KernelError
from pybpf.link.base import FDLink
from pybpf.sys import links as syslinks
from pybpf.sys.fd import FD
from pybpf.uapi.enums import AttachType

__all__ = ["IterLink", "attach_iter"]


class _IterInfo(ctypes.Structure):
    """``union bpf_iter_link_info`` laid out as its largest member (16 bytes)."""

    _fields_ = (
        ("a", ctypes.c_uint32),  # map_fd / cgroup order / task tid
        ("b", ctypes.c_uint32),  # cgroup_fd / task pid
        ("c", ctypes.c_uint32),  # task pid_fd (low half of cgroup_id)
        ("d", ctypes.c_uint32),
    )


class IterLink(FDLink):
    """An iterator link; :meth:`read` runs one pass and returns its text."""

    def open(self) -> BinaryIO:
        """A new binary file reading one pass of the iterator."""
        self._check_open("open iterator")
        fd = syslinks.iter_create(self.fileno())
        return os.fdopen(fd.disown(), "rb", buffering=0)

    def read_bytes(self) -> bytes:
        """Run one pass and return all output bytes."""
        chunks: list[bytes] = []
        with self.open() as f:
            while True:
                try:
                    chunk = f.read(65536)
                except OSError as exc:
                    raise KernelError(f"read iterator {self.program!r}", exc.errno or 0) from exc
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)

    def read(self) -> str:
        """Run one pass and return its output as text."""
        return self.read_bytes().decode(errors="replace")

    def __iter__(self) -> Iterator[str]:
        """Lines of one pass."""
        return iter(self.read().splitlines())


def attach_iter(
    prog_fd: int,
    *,
    prog_name: str = "",
    target: str = "",
    map_fd: int | None = None,
    cgroup_fd: int | None = None,
    cgroup_id: int = 0,
    order: int = 0,
    tid: int = 0,
    pid: int = 0,
    pid_fd: int = 0,
) -> IterLink:
    """Create the iterator link of an ``iter/...`` program.

    Optional parameters narrow it: ``map_fd`` (map element iterators), ``cgroup_fd``
    or ``cgroup_id`` with ``order`` (cgroup iterator), ``tid``/``pid``/``pid_fd``
    (task iterators).
    """
    info = _IterInfo()
    used = True
    if map_fd is not None:
        info.a = map_fd
    elif cgroup_fd is not None or cgroup_id:
        info.a, info.b = order, cgroup_fd or 0
        info.c, info.d = cgroup_id & 0xFFFFFFFF, cgroup_id >> 32
    elif tid or pid or pid_fd:
        info.a, info.b, info.c = tid, pid, pid_fd
    else:
        used = False
    fd: FD = syslinks.link_create(
        prog_fd,
        0,
        AttachType.TRACE_ITER,
        iter_info=bytes(info) if used else None,
        op=f"attach iterator {prog_name or target!r}",
    )
    return IterLink(fd, "iter", prog_name, target)

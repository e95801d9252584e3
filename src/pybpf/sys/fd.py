"""Ownership of kernel file descriptors: :class:`FD` closes its fd exactly once."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable
from types import TracebackType
from typing import Any

from pybpf.errors import KernelError

__all__ = ["FD", "dup_fd", "fd_of"]


class FD:
    """An owned file descriptor (map, program, link, BTF, perf event, ...).

    Closes on :meth:`close`, on leaving a ``with`` block or when garbage collected;
    :meth:`disown` hands the number to someone else (not ``detach``: a link's
    ``detach`` closes; giving up ownership is a different act). Using a closed FD raises
    :class:`~pybpf.errors.KernelError` (EBADF) instead of touching a recycled fd.
    """

    __slots__ = ("__weakref__", "_fd", "kind")

    def __init__(self, fd: int, kind: str = "fd") -> None:
        if fd < 0:
            raise ValueError(f"invalid file descriptor {fd}")
        if fd == 0:
            # fd 0 means "none" in many attr fields: move it out of the way (as cilium does)
            moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 1)
            os.close(fd)
            fd = moved
        self._fd = fd
        self.kind = kind

    @property
    def closed(self) -> bool:
        """True once closed or disowned."""
        return self._fd < 0

    def fileno(self) -> int:
        """The fd number; raises if closed."""
        if self._fd < 0:
            raise KernelError(f"use {self.kind}", errno.EBADF, "it was already closed")
        return self._fd

    def __int__(self) -> int:
        return self.fileno()

    def __index__(self) -> int:
        return self.fileno()

    def close(self) -> None:
        """Close the fd (idempotent)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def disown(self) -> int:
        """Give up ownership and return the raw fd number; the caller must close it."""
        fd = self.fileno()
        self._fd = -1
        return fd

    def dup(self) -> FD:
        """A new FD (close-on-exec) for the same kernel object."""
        return dup_fd(self.fileno(), self.kind)

    def __enter__(self) -> FD:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self, _close: Callable[[int], None] = os.close) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            self._fd = -1
            # no contextlib here: module globals may already be gone at interpreter exit
            try:  # noqa: SIM105
                _close(fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        state = "closed" if self._fd < 0 else str(self._fd)
        return f"<FD {self.kind} {state}>"


def dup_fd(fd: int, kind: str = "fd") -> FD:
    """An owned close-on-exec duplicate of ``fd`` (kept to undo an attachment later)."""
    try:
        return FD(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 1), kind)
    except OSError as exc:
        raise KernelError(f"duplicate {kind} fd {fd}", exc.errno or errno.EBADF) from exc


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

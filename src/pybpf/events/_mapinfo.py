"""Open a reader's own copy of a map fd after checking the map's type."""

from __future__ import annotations

import errno
from typing import Protocol

from pybpf.errors import KernelError, MapError
from pybpf.sys.fd import FD, dup_fd, fd_of
from pybpf.sys.info import MapInfo, map_info
from pybpf.uapi.enums import MapType

__all__ = ["HasFileno", "dup_map_fd"]


class HasFileno(Protocol):
    """Anything with a ``fileno()`` (an :class:`FD`, a pybpf ``Map``, ...)."""

    def fileno(self) -> int: ...


def dup_map_fd(fd: int | HasFileno, want: MapType, what: str) -> tuple[FD, MapInfo]:
    """Duplicate a map fd (so the reader owns its own) after checking its type."""
    num = fd_of(fd, "map")
    try:
        owned = dup_fd(num, "map")
    except KernelError as exc:
        raise MapError(f"open {what}", exc.errno or errno.EBADF, f"fd {num} is not open") from exc
    try:
        info = map_info(owned)
        if info.type != want:
            kind = info.type.name if isinstance(info.type, MapType) else str(info.type)
            raise MapError(
                f"open {what}",
                errno.EINVAL,
                f"map {info.name!r} (fd {num}) is a {kind} map, not {want.name}",
            )
    except BaseException:
        owned.close()
        raise
    return owned, info

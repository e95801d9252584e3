"""Open a reader's own copy of a map fd after checking the map's type."""

from __future__ import annotations

import errno
import fcntl
from typing import Protocol

from pybpf.errors import MapError
from pybpf.sys.fd import FD
from pybpf.sys.info import MapInfo, map_info
from pybpf.uapi.enums import MapType

__all__ = ["HasFileno", "dup_map_fd", "fd_number"]


class HasFileno(Protocol):
    """Anything with a ``fileno()`` (an :class:`FD`, a pybpf ``Map``, ...)."""

    def fileno(self) -> int: ...


def fd_number(fd: int | HasFileno) -> int:
    """The raw number of an int or anything with ``fileno()``."""
    return fd if isinstance(fd, int) else int(fd.fileno())


def dup_map_fd(fd: int | HasFileno, want: MapType, what: str) -> tuple[FD, MapInfo]:
    """Duplicate a map fd (so the reader owns its own) after checking its type."""
    num = fd_number(fd)
    try:
        owned = FD(fcntl.fcntl(num, fcntl.F_DUPFD_CLOEXEC, 1), "map")
    except OSError as exc:
        raise MapError(f"open {what}", exc.errno or errno.EBADF, f"fd {num} is not open") from None
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

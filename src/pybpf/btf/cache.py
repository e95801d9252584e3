"""On-disk cache of a BTF blob's type-offset index and name index.

Files are keyed by the blob's size and CRC32, so a changed kernel or module simply
misses. The cache lives in ``$PYBPF_CACHE_DIR``, else ``$XDG_CACHE_HOME/pybpf``,
else ``~/.cache/pybpf``; any I/O problem silently disables it. A loaded file is
read once into a buffer that the arrays view without copying.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import tempfile
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

__all__ = ["CachedIndex", "U32s", "cache_dir", "content_key", "load", "save"]

_MAGIC = b"PYBPFIDX"
_VERSION = 2
_BOM = 0x01020304
# magic, version, byte-order mark, blob size, blob crc32, n types, flags, n names
_HDR = struct.Struct("=8sIIQIIII")
_HAS_NAME_OFFS = 1  # flags: a name offset per type follows the type offsets
_STARTS_KNOWN = 2  # flags: whether every type name offset starts a string is known ...
_ALL_STARTS = 4  # ... and that answer is yes


# An array of u32 read from the cache is a writable memoryview over the file's bytes.
U32s: TypeAlias = "array[int] | memoryview"


@dataclass
class CachedIndex:
    """What the cache holds for one blob: type offsets, name offsets, hashed name index.

    ``all_starts`` says whether every named type's name offset starts a string (None:
    not yet known); name lookups by string search rely on it.
    """

    offsets: U32s
    name_hashes: U32s | None = None
    name_ids: U32s | None = None
    name_offs: U32s | None = None
    all_starts: bool | None = None


def cache_dir() -> Path | None:
    """The cache directory, or None when caching is disabled (``PYBPF_CACHE_DIR=""``)."""
    env = os.environ.get("PYBPF_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "pybpf"
    try:
        return Path.home() / ".cache" / "pybpf"
    except (RuntimeError, KeyError):
        return None


def content_key(data: bytes) -> tuple[int, int]:
    """The (size, crc32) pair that identifies a blob."""
    return len(data), zlib.crc32(data)


def _path(key: tuple[int, int]) -> Path | None:
    d = cache_dir()
    if d is None:
        return None
    return d / f"btf-{key[0]}-{key[1]:08x}.idx"


def load(key: tuple[int, int]) -> CachedIndex | None:
    """Return the cached index for ``key``, or None when absent or invalid."""
    path = _path(key)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            buf = bytearray(os.fstat(f.fileno()).st_size)
            if f.readinto(buf) != len(buf):
                return None
    except OSError:
        return None
    raw = memoryview(buf)
    if len(raw) < _HDR.size:
        return None

    def _words(start: int, count: int) -> memoryview:
        return raw[start : start + 4 * count].cast("I")

    magic, version, bom, size, crc, ntypes, flags, nnames = _HDR.unpack_from(raw)
    if (magic, version, bom, size, crc) != (_MAGIC, _VERSION, _BOM, key[0], key[1]):
        return None
    has_offs = bool(flags & _HAS_NAME_OFFS)
    pos = _HDR.size
    if len(raw) != pos + 4 * ntypes * (1 + has_offs) + 8 * nnames:
        return None
    index = CachedIndex(_words(pos, ntypes))
    pos += 4 * ntypes
    if has_offs:
        index.name_offs = _words(pos, ntypes)
        pos += 4 * ntypes
    if flags & _STARTS_KNOWN:
        index.all_starts = bool(flags & _ALL_STARTS)
    if nnames:
        index.name_hashes = _words(pos, nnames)
        index.name_ids = _words(pos + 4 * nnames, nnames)
    return index


def save(key: tuple[int, int], index: CachedIndex) -> bool:
    """Write ``index`` atomically; returns False (and leaves nothing) on any error."""
    path = _path(key)
    if path is None or sys.byteorder not in ("little", "big"):
        return False
    hashed = index.name_hashes is not None and index.name_ids is not None
    nnames = len(index.name_hashes) if index.name_hashes is not None and hashed else 0
    offs = index.name_offs
    if offs is not None and len(offs) != len(index.offsets):
        offs = None
    flags = _HAS_NAME_OFFS if offs is not None else 0
    if index.all_starts is not None:
        flags |= _STARTS_KNOWN | (_ALL_STARTS if index.all_starts else 0)
    parts = [
        _HDR.pack(_MAGIC, _VERSION, _BOM, key[0], key[1], len(index.offsets), flags, nnames),
        index.offsets.tobytes(),
    ]
    if offs is not None:
        parts.append(offs.tobytes())
    if nnames and index.name_hashes is not None and index.name_ids is not None:
        parts += [index.name_hashes.tobytes(), index.name_ids.tobytes()]
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".btf-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(b"".join(parts))
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False

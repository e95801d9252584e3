"""On-disk cache of a BTF blob's type-offset index and name index.

Files are keyed by the blob's size and CRC32, so a changed kernel or module simply
misses. The cache lives in this user's pybpf cache directory (see
:mod:`pybpf._cachefile`: owned by the user, files opened without following symlinks,
written by atomic rename); any I/O problem silently disables it. A file is used only
when its BLAKE2b checksum over the whole content, which includes the blob's size and
CRC32, matches: a tampered or corrupt index is rebuilt from the blob. A checked file is
remembered for this boot by its identity (device, inode, size, mtime, ctime, owner) so
later processes skip the checksum until the file changes. A loaded file is read once
into a buffer that the arrays view without copying.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from array import array
from pathlib import Path
from typing import TypeAlias

from pybpf._cachefile import blake2b
from pybpf._dataclass import dataclass

__all__ = ["CachedIndex", "U32s", "cache_dir", "content_key", "load", "save"]

_MAGIC = b"PYBPFIDX"
_VERSION = 3
_BOM = 0x01020304
# magic, version, byte-order mark, blob size, blob crc32, n types, flags, n names
_HDR = struct.Struct("=8sIIQIIII")
_SUM = 32  # BLAKE2b-256 of everything else in the file, stored after the header
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
    from pybpf._cachefile import cache_dir as user_cache_dir

    return user_cache_dir()


def _checksum(head: bytes | memoryview, body: bytes | memoryview) -> bytes:
    h = blake2b(head, digest_size=_SUM, person=b"pybpf-btf-idx")
    h.update(body)
    return h.digest()


def content_key(data: bytes) -> tuple[int, int]:
    """The (size, crc32) pair that identifies a blob."""
    return len(data), zlib.crc32(data)


def _path(key: tuple[int, int]) -> Path | None:
    from pybpf._cachefile import safe_dir

    d = cache_dir()
    if d is None or not safe_dir(d):
        return None
    return d / f"btf-{key[0]}-{key[1]:08x}.idx"


def load(key: tuple[int, int]) -> CachedIndex | None:
    """Return the cached index for ``key``, or None when absent or invalid."""
    from pybpf import _cachefile

    path = _path(key)
    if path is None:
        return None
    got = _cachefile.read_stat(path)
    if got is None or len(got[0]) < _HDR.size + _SUM:
        return None
    buf, st = got
    raw = memoryview(buf)
    body = _HDR.size + _SUM
    ident = _identity(st)
    checked = ident is not None and _checked_before(path, ident)
    if not checked and _checksum(raw[: _HDR.size], raw[body:]) != raw[_HDR.size : body]:
        return None  # corrupt or tampered: rebuilt from the blob

    def _words(start: int, count: int) -> memoryview:
        return raw[start : start + 4 * count].cast("I")

    magic, version, bom, size, crc, ntypes, flags, nnames = _HDR.unpack_from(raw)
    if (magic, version, bom, size, crc) != (_MAGIC, _VERSION, _BOM, key[0], key[1]):
        return None
    has_offs = bool(flags & _HAS_NAME_OFFS)
    pos = body
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
    if not checked and ident is not None:
        _remember_checked(path, ident, st)
    return index


# A checked index is remembered (this boot) by the identity of its file, so that later
# processes skip the checksum while the file is unchanged. Any write, rename, chmod or
# chown of the file sets its ctime to the current time, which no process can set back;
# the identity is remembered only once the ctime is _SETTLE_NS old, so a change made
# after the check cannot fall into the same clock tick and leave the ctime as it was.
# The file's fstat is the same before and after it is read (_cachefile.read_stat), so
# the bytes used are those of the remembered identity.
_SETTLE_NS = 2_000_000_000


def _identity(st: os.stat_result) -> bytes | None:
    from pybpf import _cachefile

    boot = _cachefile.boot_id()
    if boot is None:
        return None
    fields = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_uid)
    return f"{boot} {' '.join(map(str, fields))}\n".encode()


def _checked_path(path: Path) -> Path:
    return path.with_name(path.name + ".checked")


def _checked_before(path: Path, ident: bytes) -> bool:
    from pybpf import _cachefile

    memo = _cachefile.read(_checked_path(path))
    return memo is not None and memo == ident


def _remember_checked(path: Path, ident: bytes, st: os.stat_result) -> None:
    import time

    if time.time_ns() - st.st_ctime_ns < _SETTLE_NS:
        return  # too recent: a later process checks it again
    from pybpf import _cachefile

    _cachefile.write(_checked_path(path), ident)  # unwritable: the next load checks again


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
    from pybpf import _cachefile

    head = _HDR.pack(_MAGIC, _VERSION, _BOM, key[0], key[1], len(index.offsets), flags, nnames)
    parts = [index.offsets.tobytes()]
    if offs is not None:
        parts.append(offs.tobytes())
    if nnames and index.name_hashes is not None and index.name_ids is not None:
        parts += [index.name_hashes.tobytes(), index.name_ids.tobytes()]
    body = b"".join(parts)
    return _cachefile.write(path, head + _checksum(head, body) + body)

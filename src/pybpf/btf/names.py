"""Name lookups over a BTF blob without a per-type Python loop.

Two ways to answer "which own types are named X": a hashed index (CRC32 of each
named type's name, sorted, with the type's index) built in bulk from the string
section split once, and a direct search for a process that looks up only a few
names: find the string offsets whose string is X with ``bytes.find``, then the
types carrying those offsets in the packed array of name offsets.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from itertools import accumulate, compress, count, repeat
from operator import add, itemgetter
from typing import TYPE_CHECKING, cast

from pybpf.errors import BTFError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pybpf.btf.reader import BTF

__all__ = [
    "all_starts",
    "build_hashed",
    "gather",
    "name_offsets",
    "search",
    "string_offsets",
]

# Above this many candidate offsets one membership pass beats a bytes.find per offset.
_FIND_EACH_MAX = 6


def gather(seq: Sequence[int] | bytes, idxs: Sequence[int]) -> tuple[int, ...]:
    """``tuple(seq[i] for i in idxs)`` at C speed."""
    if len(idxs) > 1:
        return itemgetter(*idxs)(seq)  # type: ignore[no-any-return]
    return tuple(seq[i] for i in idxs)


def name_offsets(words: Sequence[int], offsets: Sequence[int]) -> array[int]:
    """The name offset (first word) of every record, from the record offsets."""
    return array("I", gather(words, offsets))


def _is_start(btf: BTF, off: int) -> bool | None:
    """Whether string offset ``off`` starts a string (None: out of range)."""
    if off < btf.start_str_off:
        return _is_start(btf.base, off) if btf.base is not None else None
    local = off - btf.start_str_off
    start, length = btf.strings_span
    if local >= length:
        return None
    return local == 0 or btf.data[start + local - 1] == 0


def all_starts(btf: BTF, nos: Sequence[int]) -> bool:
    """True when every non-zero name offset in ``nos`` starts a string.

    Producers (LLVM, pahole) never point a name into the middle of another string;
    when that is known, a name search only needs strings preceded by a NUL.
    """
    named = array("I", compress(nos, nos))
    if not named:
        return True
    lo = btf.start_str_off
    start, length = btf.strings_span
    if btf.base is None and min(named) > lo and max(named) < lo + length:
        first = start - lo - 1
        return not any(gather(btf.data, array("I", map(add, named, repeat(first)))))
    return all(_is_start(btf, off) is not False for off in named)


def string_offsets(btf: BTF, key: bytes) -> list[tuple[int, bool]]:
    """Every (offset, starts-a-string) whose NUL-terminated string equals ``key``."""
    out = string_offsets(btf.base, key) if btf.base is not None else []
    data, (ss, length) = btf.data, btf.strings_span
    end = ss + length
    needle = key + b"\0"
    lo = btf.start_str_off - ss
    p = data.find(needle, ss, end)
    while p != -1:
        out.append((lo + p, p == ss or data[p - 1] == 0))
        p = data.find(needle, p + 1, end)
    return out


def search(nos: Sequence[int], packed: bytes, offs: list[int]) -> list[int]:
    """Indexes (ascending) of the records whose name offset is in ``offs``.

    ``packed`` is ``nos`` as native u32 bytes: ``bytes.find`` per offset beats a
    membership test per record unless there are many offsets.
    """
    if len(offs) > _FIND_EACH_MAX:
        want = frozenset(offs)
        return list(compress(range(len(nos)), map(want.__contains__, nos)))
    found: list[int] = []
    for off in offs:
        pat = off.to_bytes(4, sys.byteorder)
        p = packed.find(pat)
        while p != -1:
            if not p & 3:
                found.append(p >> 2)
            p = packed.find(pat, p + 1)
    found.sort()
    return found


def build_hashed(btf: BTF, nos: Sequence[int]) -> tuple[array[int], array[int], bool]:
    """(sorted CRC32s of names, record indexes in the same order, all_starts).

    The string section is split once and every string hashed at C speed; only
    names that do not start a string (or live in a split BTF's base) are looked
    up one by one. Types whose name offset is invalid are left out (decoding them
    reports the error).
    """
    parts = btf.strings.split(b"\0")
    del parts[-1]  # after the final NUL
    base_off = btf.start_str_off
    starts = map(add, accumulate(map(len, parts), initial=base_off), count())
    crc_at = dict(zip(starts, map(zlib.crc32, parts), strict=False))
    named = array("I", compress(range(len(nos)), nos))
    maybe = list(map(crc_at.get, compress(nos, nos)))
    starts_ok = True
    if None in maybe:
        keep = []
        for j, h in enumerate(maybe):
            if h is None:
                off = nos[named[j]]
                try:
                    maybe[j] = zlib.crc32(btf.string_bytes(off))
                except BTFError:
                    continue
                starts_ok = starts_ok and _is_start(btf, off) is True
            keep.append(j)
        if len(keep) != len(maybe):
            named = array("I", gather(named, keep))
            maybe = [maybe[j] for j in keep]
    hs = cast("list[int]", maybe)  # every None was replaced or dropped
    order = sorted(range(len(hs)), key=hs.__getitem__)
    hashes = array("I", gather(hs, order))
    ids = array("I", gather(named, order))
    return hashes, ids, starts_ok

"""CO-RE candidate search and matching of a local spec against a target type.

Candidates are target types whose *essential* name (``___flavor`` stripped) equals
the local type's, found through the BTF name index plus a small per-BTF table of
flavored names, so vmlinux is never scanned type by type. Matching follows
libbpf's ``bpf_core_spec_match``.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from pybpf._dataclass import dataclass
from pybpf.btf.core.compat import fields_are_compat, kinds_compat, types_are_compat, types_match
from pybpf.btf.core.spec import (
    MAX_SPEC_LEN,
    Accessor,
    CoreSpec,
    essential_name,
    is_enumval_based,
    is_field_based,
    is_flex_arr,
    is_type_based,
    resolve_size,
    skip_mods,
)
from pybpf.btf.ext import CoreReloKind
from pybpf.btf.types import Array, Enum, Enum64, Struct, Union
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["Candidate", "find_candidates", "flavored_names", "flavors_of", "spec_match"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A target type that may correspond to a local type: ``id`` in ``btf``."""

    btf: BTF
    btf_name: str
    id: int


_FLAVORED: weakref.WeakKeyDictionary[BTF, dict[str, list[str]]] = weakref.WeakKeyDictionary()


def flavored_names(btf: BTF) -> dict[str, list[str]]:
    """Essential name -> names with a ``___flavor`` among ``btf``'s own strings (cached).

    One pass of ``bytes.find`` over the string section: a few milliseconds on vmlinux.
    """
    table = _FLAVORED.get(btf)
    if table is not None:
        return table
    table = {}
    data = btf.strings
    seen: set[bytes] = set()
    pos = data.find(b"___")
    while pos != -1:
        start = data.rfind(b"\0", 0, pos) + 1
        end = data.find(b"\0", pos)
        if end == -1:
            end = len(data)
        raw = data[start:end]
        if raw not in seen:
            seen.add(raw)
            name = raw.decode("utf-8", "surrogateescape")
            ess = essential_name(name)
            if ess != name:
                table.setdefault(ess, []).append(name)
        pos = data.find(b"___", end)
    _FLAVORED[btf] = table
    return table


_SEARCHED: weakref.WeakKeyDictionary[BTF, dict[str, list[str]]] = weakref.WeakKeyDictionary()
_SEARCH_MAX = 8  # distinct names searched one by one before the whole table pays off


def flavors_of(btf: BTF, ess: str) -> list[str]:
    """Names ``ess___<flavor>`` among ``btf``'s own strings (what flavored_names has).

    A few names are looked up by one ``bytes.find`` pass each over the string
    section; past that, the whole table is built once.
    """
    table = _FLAVORED.get(btf)
    if table is not None:
        return table.get(ess, [])
    done = _SEARCHED.setdefault(btf, {})
    if ess in done:
        return done[ess]
    if len(done) >= _SEARCH_MAX:
        return flavored_names(btf).get(ess, [])
    data, (start, length) = btf.data, btf.strings_span
    end = start + length
    needle = b"\0" + ess.encode("utf-8", "surrogateescape") + b"___"
    found: list[str] = []
    pos = data.find(needle, start, end)
    if data.startswith(needle[1:], start):  # a split BTF's strings need not start with NUL
        pos = start - 1
    while pos != -1:
        stop = data.find(b"\0", pos + 1, end)
        name = data[pos + 1 : stop if stop != -1 else end].decode("utf-8", "surrogateescape")
        if essential_name(name) == ess and name not in found:
            found.append(name)
        pos = data.find(needle, pos + 1, end)
    done[ess] = found
    return found


def find_candidates(local: BTF, local_id: int, btf: BTF, btf_name: str) -> list[Candidate]:
    """Own types of ``btf`` with the local type's essential name and a compatible kind."""
    lkind = local.kind_of(local_id)
    ess = essential_name(local.name_of(local_id))
    if not ess:
        return []
    names = [ess, *flavors_of(btf, ess)]
    ids: set[int] = set()
    for name in names:
        for tid in btf.find(name):
            if tid >= btf.start_id and kinds_compat(btf.kind_of(tid), lkind):
                ids.add(tid)
    return [Candidate(btf, btf_name, tid) for tid in sorted(ids)]


def _match_member(
    local: BTF, local_acc: Accessor, targ: BTF, targ_id: int, spec: CoreSpec
) -> tuple[bool, int]:
    """Find ``local_acc``'s member by name in ``targ_id``, descending into anonymous members.

    Extends ``spec`` (raw path, bit offset, accessor) on success; returns
    (matched, the member's type id).
    """
    targ_id = skip_mods(targ, targ_id)
    tt = targ.type(targ_id)
    if not isinstance(tt, Struct | Union):
        return False, 0
    lt = local.type(local_acc.type_id)
    assert isinstance(lt, Struct | Union)
    local_member = lt.members[local_acc.idx]
    for i, m in enumerate(tt.members):
        if len(spec.raw_spec) == MAX_SPEC_LEN:
            raise BTFError("CO-RE target spec nests too deep", section=targ.name)
        spec.bit_offset += m.bit_offset
        spec.raw_spec.append(i)
        if not m.name:
            found, next_id = _match_member(local, local_acc, targ, m.type, spec)
            if found:
                return True, next_id
        elif m.name == local_member.name:
            spec.spec.append(Accessor(targ_id, i, m.name))
            if fields_are_compat(local, local_member.type, targ, m.type):
                return True, m.type
            spec.spec.pop()
            # libbpf leaves the raw path/offset of a same-named, incompatible
            # member in place: the candidate is rejected anyway.
            return False, m.type
        spec.bit_offset -= m.bit_offset
        spec.raw_spec.pop()
    return False, 0


def spec_match(local_spec: CoreSpec, targ: BTF, targ_id: int) -> tuple[bool, CoreSpec]:
    """Match ``local_spec`` against target type ``targ_id``; returns (matched, target spec)."""
    kind = local_spec.relo_kind
    local = local_spec.btf
    tspec = CoreSpec(targ, targ_id, kind)
    if is_type_based(kind):
        if kind == CoreReloKind.TYPE_MATCHES:
            return types_match(local, local_spec.root_type_id, targ, targ_id), tspec
        return types_are_compat(local, local_spec.root_type_id, targ, targ_id), tspec

    if is_enumval_based(kind):
        targ_id = skip_mods(targ, targ_id)
        tt = targ.type(targ_id)
        if not isinstance(tt, Enum | Enum64):
            return False, tspec
        want = essential_name(local_spec.spec[0].name or "")
        for i, v in enumerate(tt.values):
            if essential_name(v.name) == want:
                tspec.spec.append(Accessor(targ_id, i, v.name))
                tspec.raw_spec.append(i)
                return True, tspec
        return False, tspec

    if not is_field_based(kind):
        raise BTFError(f"unknown CO-RE relocation kind {kind}", section=local.name)

    for i, lacc in enumerate(local_spec.spec):
        targ_id = skip_mods(targ, targ_id)
        if lacc.name:
            matched, targ_id = _match_member(local, lacc, targ, targ_id, tspec)
            if not matched:
                return False, tspec
            continue
        if i > 0:
            tt = targ.type(targ_id)
            if not isinstance(tt, Array):
                return False, tspec
            prev = tspec.spec[-1] if tspec.spec else None
            flex = is_flex_arr(targ, prev, tt)
            if not flex and lacc.idx >= tt.nelems:
                return False, tspec
            targ_id = skip_mods(targ, tt.type)
        if len(tspec.raw_spec) == MAX_SPEC_LEN:
            raise BTFError("CO-RE target spec nests too deep", section=targ.name)
        tspec.spec.append(Accessor(targ_id, lacc.idx))
        tspec.raw_spec.append(lacc.idx)
        tspec.bit_offset += lacc.idx * resolve_size(targ, targ_id) * 8
    return True, tspec

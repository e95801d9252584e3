"""The static linker's pipeline: read, place, resolve, relocate, merge BTF, write."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

from pybpf.btf.encode import StringTable
from pybpf.elf.reader import SectionType
from pybpf.errors import ObjectError
from pybpf.linker.btfmerge import merge_btf
from pybpf.linker.btfout import collect_ext, encode_btf, encode_ext, encode_types
from pybpf.linker.dedup import dedup
from pybpf.linker.inputs import LinkInput, read_input
from pybpf.linker.layout import Placement, place_sections
from pybpf.linker.relocs import copy_relocations
from pybpf.linker.symbols import SymbolTable, resolve_symbols
from pybpf.linker.writer import OutSection, write_elf

__all__ = ["link_objects"]

Source = str | Path | bytes


def _btf_sections(inputs: list[LinkInput], p: Placement, syms: SymbolTable) -> list[OutSection]:
    """The merged, deduplicated ``.BTF`` and ``.BTF.ext`` (none without input BTF)."""
    if all(inp.btf is None for inp in inputs):
        return []
    merged = merge_btf(inputs, p, syms)
    types, new_id = dedup(merged.types)
    strings = StringTable()
    type_data = encode_types(types, strings)

    def final_id(i: int, tid: int) -> int:
        """The id in the output of type ``tid`` of input ``i`` (as .BTF.ext names it)."""
        if not tid:
            return 0
        merged_id = merged.id_maps[i].get(tid)
        if merged_id is None:
            raise ObjectError(f".BTF.ext refers to type [{tid}], not a type it can name",
                              file=inputs[i].file)  # fmt: skip
        return new_id[merged_id]

    ext = collect_ext(inputs, p, final_id)
    ext_data = encode_ext(ext, strings)
    out = [
        OutSection(".BTF", SectionType.PROGBITS, 0, 0, 4, bytearray(encode_btf(type_data, strings)))
    ]
    if any(inp.ext is not None for inp in inputs):
        out.append(OutSection(".BTF.ext", SectionType.PROGBITS, 0, 0, 4, bytearray(ext_data)))
    return out


def link_objects(sources: Sequence[Source], *, allow_unresolved: bool = False) -> bytes:
    """Link BPF objects (paths or bytes) into the bytes of one object file.

    Raises :class:`~pybpf.errors.StaticLinkError` for symbol clashes, unresolved
    externs and type mismatches, :class:`~pybpf.errors.ObjectError` for unusable input.

    >>> data = link_objects(["main.bpf.o", "lib.bpf.o"])  # doctest: +SKIP
    >>> pybpf.open(data)                                   # doctest: +SKIP
    """
    if not sources:
        raise ObjectError("nothing to link: give at least one object")
    try:
        return _link(sources, allow_unresolved)
    except ObjectError:
        raise
    except (KeyError, IndexError, ValueError, TypeError, AssertionError, struct.error) as exc:
        names = ", ".join(str(s) if not isinstance(s, bytes) else "<bytes>" for s in sources)
        raise ObjectError(
            f"cannot link malformed objects ({names}): {type(exc).__name__}: {exc}",
            unexpected=True,
        ) from exc


def _link(sources: Sequence[Source], allow_unresolved: bool) -> bytes:
    inputs = [read_input(src, i) for i, src in enumerate(sources)]
    placement = place_sections(inputs)
    syms = resolve_symbols(inputs, placement, allow_unresolved=allow_unresolved)
    copy_relocations(inputs, placement, syms)
    sections = [*placement.sections, *_btf_sections(inputs, placement, syms)]
    return write_elf(sections, syms.symbols)

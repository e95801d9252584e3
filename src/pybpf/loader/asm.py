"""Load a program written in Python (:mod:`pybpf.asm.build`) or BPF assembly text.

``load_program`` fills in map references (``Map`` objects or names from ``maps``)
and loads the code; a verifier rejection names the Python line (or assembly
line) of the instruction the verifier stopped at.
"""

from __future__ import annotations

import linecache
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from pybpf.errors import BPFError, VerifierError
from pybpf.uapi.enums import AttachType, MapType, ProgType

__all__ = ["create_map", "load_program"]


def create_map(
    name: str,
    type: MapType | int | str,
    key_size: int,
    value_size: int,
    max_entries: int,
    *,
    flags: int = 0,
) -> Any:
    """Create a map in the kernel for a built program; returns a :class:`~pybpf.map.Map`.

    >>> counts = create_map("counts", "array", 4, 8, 256)  # doctest: +SKIP
    """
    from pybpf.map import Map
    from pybpf.sys.maps import map_create

    if isinstance(type, str):
        try:
            type = MapType[type.upper()]
        except KeyError as exc:
            raise ValueError(f"no map type {type!r}") from exc

    fd = map_create(type, key_size, value_size, max_entries, flags=flags, name=name)
    return Map(
        fd,
        name=name,
        type=type,
        key_size=key_size,
        value_size=value_size,
        max_entries=max_entries,
        flags=flags,
    )


def _prog_type(value: ProgType | int | str) -> ProgType | int:
    if isinstance(value, str):
        try:
            return ProgType[value.upper()]
        except KeyError as exc:
            raise ValueError(f"no program type {value!r}") from exc
    return value


def load_program(
    insns: Any,
    *,
    prog_type: ProgType | int | str,
    maps: Mapping[str, Any] | Sequence[Any] | None = None,
    license: str = "GPL",
    name: str = "pybpf_asm",
    expected_attach_type: AttachType | int | None = None,
    log_level: int = 0,
) -> Any:
    """Load a program built with :mod:`pybpf.asm.build` (or assembly text, or raw bytes).

    ``maps`` gives the maps that ``ld_map`` names by string (a mapping, or
    ``Map`` objects matched by their ``name``); returns a loaded
    :class:`~pybpf.program.Program` (``test_run``, ``attach_*``).

    >>> prog = load_program([mov(R0, 2), exit_()], prog_type="xdp")  # doctest: +SKIP
    """
    from pybpf.asm.assemble import Assembly, assemble
    from pybpf.asm.build import Built, is_program, resolve
    from pybpf.program import Program
    from pybpf.sys.progs import prog_load_log

    kind = _prog_type(prog_type)
    by_name = _map_table(maps)
    text_lines: dict[int, tuple[str, int, str]] = {}
    if isinstance(insns, str):
        insns = assemble(insns)
    if isinstance(insns, Assembly):
        built = _from_assembly(insns, by_name)
    elif isinstance(insns, (bytes, bytearray)):
        from pybpf.asm.insn import decode

        built = Built(decode(bytes(insns)), {}, {})
    elif is_program(insns):
        built = resolve(insns)
    else:
        raise TypeError("load_program takes builder instructions, assembly text or bytes")
    code = bytearray(built.code)
    for slot, ref in built.map_refs.items():
        m = _find_map(ref, by_name, built.origins.get(slot))
        code[slot * 8 + 4 : slot * 8 + 8] = int(m.fd).to_bytes(4, "little", signed=True)
    for slot, (file, line) in built.origins.items():
        text_lines[slot] = (file, line, linecache.getline(file, line).strip())
    if isinstance(insns, Assembly):
        for slot, (line, text) in insns.lines.items():
            text_lines[slot] = (insns.source or "<asm>", line, text)
    btf_fd, func_info, line_info = _line_btf(name, built.insns, text_lines)
    try:
        fd, log = prog_load_log(
            kind,
            bytes(code),
            license=license,
            name=name,
            log_level=log_level,
            expected_attach_type=expected_attach_type or 0,
            btf_fd=btf_fd,
            func_info=func_info,
            func_info_rec_size=8 if func_info else 0,
            line_info=line_info,
            line_info_rec_size=16 if line_info else 0,
        )
    except VerifierError as exc:
        raise _with_origin(exc, name, text_lines) from exc
    finally:
        if btf_fd is not None:
            btf_fd.close()
    prog = Program(name, kind, expected_attach_type=expected_attach_type, fd=fd)
    prog.verifier_log = log
    return prog


def _line_btf(
    name: str, insns: Sequence[Any], lines: dict[int, tuple[str, int, str]]
) -> tuple[Any, bytes, bytes]:
    """A minimal program BTF (one FUNC) with line info naming the Python/assembly lines.

    The kernel then prints ``; text @ file:line`` in verifier logs and keeps the
    lines for ``prog dump xlated``/``explain``; without BTF support none is sent.
    """
    starts = {i.slot for i in insns}
    if 0 not in lines or not lines:
        return None, b"", b""
    strings = bytearray(b"\0")
    index: dict[str, int] = {"": 0}

    def s(text: str) -> int:
        if text not in index:
            index[text] = len(strings)
            strings.extend(text.encode("utf-8", "replace") + b"\0")
        return index[text]

    int_name, func_name = s("int"), s(name or "prog")
    types = struct.pack(
        "<IIII" + "III" + "III",
        int_name, 1 << 24, 4, (1 << 24) | 32,  # [1] int: signed, 32 bits
        0, 13 << 24, 1,  # [2] func_proto returning int, no params
        func_name, 12 << 24, 2,  # [3] static func of type [2]
    )  # fmt: skip
    records = []
    for slot in sorted(lines):
        if slot in starts:
            file, line, text = lines[slot]
            records.append(struct.pack("<IIII", slot, s(file), s(text), (line << 10) | 1))
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    try:
        from pybpf.sys.btf import btf_load

        fd = btf_load(hdr + types + bytes(strings), what=f"line info of {name!r}")
    except BPFError:
        return None, b"", b""
    return fd, struct.pack("<II", 0, 3), b"".join(records)


def _map_table(maps: Mapping[str, Any] | Sequence[Any] | None) -> dict[str, Any]:
    if maps is None:
        return {}
    if isinstance(maps, Mapping):
        return dict(maps)
    return {m.name: m for m in maps}


def _find_map(ref: Any, by_name: dict[str, Any], origin: tuple[str, int] | None) -> Any:
    if isinstance(ref, str):
        if ref not in by_name:
            where = f"{origin[0]}:{origin[1]}: " if origin else ""
            known = ", ".join(sorted(by_name)) or "none given"
            raise BPFError(f"{where}no map named {ref!r} in maps= (known: {known})")
        return by_name[ref]
    if not hasattr(ref, "fd"):
        raise TypeError(f"map reference must be a Map or a name, not {ref!r}")
    return ref


def _from_assembly(asm: Any, by_name: dict[str, Any]) -> Any:
    """Assembly text: ``R_BPF_64_64`` relocations of ld_imm64 against a map in ``maps``."""
    from pybpf.asm.build import Built
    from pybpf.asm.opcodes import PseudoSrc

    insns = list(asm.instructions)
    by_slot = {i.slot: n for n, i in enumerate(insns)}
    refs: dict[int, Any] = {}
    for r in asm.relocations:
        n = by_slot.get(r.offset // 8)
        if n is not None and insns[n].is_ld_imm64 and r.symbol in by_name:
            insns[n] = insns[n].replace(src=PseudoSrc.MAP_FD)
            refs[r.offset // 8] = r.symbol
    return Built(insns, refs, {})


def _with_origin(
    exc: VerifierError, name: str, lines: dict[int, tuple[str, int, str]]
) -> VerifierError:
    """The same rejection, naming the Python line that built the failing instruction."""
    from pybpf.errors import summarize_log

    def lookup(insn: int) -> tuple[str, int, str] | None:
        best = None
        for slot in sorted(lines):
            if slot <= insn:
                best = lines[slot]
        return best if insn in lines or best is not None else None

    summary = summarize_log(exc.log, lookup if lines else None)
    location = summary.location
    own = lookup(summary.insn_index) if lines and summary.insn_index is not None else None
    if own is not None:  # the kernel prints only the file's base name: give the full path
        location = f"{own[0]}:{own[1]}: {own[2]}" if own[2] else f"{own[0]}:{own[1]}"
    return VerifierError(
        name,
        exc.errno or 0,
        exc.log,
        summary=str(summary),
        source=location,
        truncated=exc.truncated,
        insn_index=summary.insn_index,
    )

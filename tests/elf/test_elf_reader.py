"""ELF reader: real objects parse consistently; every malformation is an ObjectError."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from elf_builder import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHT_PROGBITS,
    SHT_REL,
    Sec,
    Sym,
    build,
    rel,
    text_object,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.elf import ElfObject, RelocType, SectionType, SymbolBind, SymbolType
from pybpf.errors import ObjectError

EXIT = bytes.fromhex("9500000000000000")
LD_IMM64 = bytes.fromhex("18010000000000000000000000000000")
CALL = bytes.fromhex("8510000001000000")


def _objects(bpf_objects: Path) -> list[Path]:
    objs = sorted(bpf_objects.glob("*.bpf.o"))
    assert objs, "no compiled test objects"
    return objs


def _rel_object(entries: bytes, code: bytes = LD_IMM64 + EXIT) -> bytes:
    data, _ = build(
        [
            Sec(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, code),
            Sec(".rel.text", SHT_REL, data=entries, link=3, info=1, entsize=16),
        ],
        [Sym("f", 1, 0, len(code)), Sym("m", 0, bind=1, type=0)],
    )
    return data


# -- real objects -----------------------------------------------------------------------


def test_real_objects_parse(bpf_objects: Path) -> None:
    for path in _objects(bpf_objects):
        obj = ElfObject.from_file(path)
        assert obj.sections[0].type == SectionType.NULL
        assert [s.index for s in obj.sections] == list(range(len(obj.sections)))
        assert obj.symbols and obj.symbols[0].name == ""
        data = path.read_bytes()
        for sec in obj.sections[1:]:
            assert obj.section_by_index(sec.index) is sec
            if not sec.is_nobits:
                assert sec.data == data[sec.offset : sec.offset + sec.size]
            rels = obj.relocations(sec.index)
            rsec = obj.relocation_section(sec.index)
            assert (rsec is None) == (not rels) or rsec is not None
            if rsec is not None:
                assert rsec.info == sec.index
                assert len(rels) == rsec.size // 16
            for r in rels:
                assert 0 <= r.symbol < len(obj.symbols)
                assert r.offset < sec.size
        # deterministic: a second parse is equal field by field
        again = ElfObject.from_bytes(data, file=str(path))
        assert again.sections == obj.sections and again.symbols == obj.symbols


def test_insn_v4_object_model(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = ElfObject.from_file(bpf_obj("insn_v4"))
    prog = obj.section("syscall")
    assert prog is not None and prog.is_exec and prog.is_alloc and not prog.is_write
    text = obj.section(".text")
    assert text is not None
    funcs = {s.name: s for s in obj.symbols_in(text.index) if s.type == SymbolType.FUNC}
    assert {"signed_ops", "byte_swaps", "atomics"} <= set(funcs)
    assert all(s.bind == SymbolBind.LOCAL for s in funcs.values())
    bss = obj.section(".bss")
    assert bss is not None and bss.is_nobits and bss.is_write and bss.data == b""
    rels = obj.relocations(prog.index)
    kinds = {r.type for r in rels}
    assert kinds == {RelocType.R_BPF_64_32, RelocType.R_BPF_64_64}
    names = {obj.symbols[r.symbol].name for r in rels if r.type == RelocType.R_BPF_64_64}
    assert {"jmp32_res", "g_sc", "ldsx8_res"} <= names
    main = [s for s in obj.symbols_in(prog.index) if s.type == SymbolType.FUNC]
    assert [s.name for s in main] == ["insn_v4"] and main[0].bind == SymbolBind.GLOBAL


def test_built_object_reads_back() -> None:
    data = _rel_object(rel(0, 2, 1))
    obj = ElfObject.from_bytes(data, file="x.o")
    text = obj.section(".text")
    assert text is not None and text.data == LD_IMM64 + EXIT
    (r,) = obj.relocations(text.index)
    assert r.type is RelocType.R_BPF_64_64 and r.offset == 0 and obj.symbols[r.symbol].name == "m"
    assert obj.section("nope") is None


# -- named malformations ------------------------------------------------------------------


def _expect(data: bytes, *words: str, section: str | None = None, offset: int | None = None):  # type: ignore[no-untyped-def]
    with pytest.raises(ObjectError) as info:
        ElfObject.from_bytes(data, file="bad.o")
    err = info.value
    assert err.file == "bad.o" and "bad.o" in str(err)
    for w in words:
        assert w in str(err), (w, str(err))
    if section is not None:
        assert err.section == section and repr(section) in str(err)
    if offset is not None:
        assert err.offset == offset and f"{offset:#x}" in str(err)
    return err


def _patch(data: bytes, off: int, fmt: str, *values: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, off, *values)
    return bytes(buf)


def test_bad_magic() -> None:
    _expect(b"MZ\x90\x00" + bytes(60), "not an ELF file", offset=0)
    _expect(b"", "not an ELF file")


def test_not_64_bit() -> None:
    data = _patch(text_object(EXIT), 4, "<B", 1)
    _expect(data, "not a 64-bit", offset=4)


def test_big_endian() -> None:
    data = _patch(text_object(EXIT), 5, "<B", 2)
    _expect(data, "big-endian", "bpfeb", "not supported on this host", offset=5)


def test_not_relocatable() -> None:
    data = _patch(text_object(EXIT), 16, "<H", 2)  # ET_EXEC
    _expect(data, "not a relocatable object", offset=16)


def test_not_bpf_machine() -> None:
    data, _ = build([Sec(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, EXIT)], machine=62)
    _expect(data, "not a BPF object", "e_machine=62", offset=18)


def test_truncated_header() -> None:
    _expect(text_object(EXIT)[:40], "truncated ELF header", offset=40)
    _expect(text_object(EXIT)[:10], "truncated ELF identification")


def test_section_header_table_past_eof() -> None:
    data = text_object(EXIT)
    _expect(data[:-10], "extends past end of file")


def test_section_data_past_eof() -> None:
    data, layout = build([Sec(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, EXIT)])
    hdr = layout.shoff + 64 * 1
    data = _patch(data, hdr + 32, "<Q", 0x10000)  # sh_size of .text
    _expect(data, "extends past end of file", section=".text", offset=64)


def test_bad_section_name_offset() -> None:
    data, layout = build([Sec(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, EXIT)])
    hdr = layout.shoff + 64 * 1
    data = _patch(data, hdr, "<I", 0x7777)
    _expect(data, "name offset 0x7777", section="[1]", offset=hdr)


def test_bad_shstrndx() -> None:
    data = _patch(text_object(EXIT), 62, "<H", 99)
    _expect(data, "section name table index 99", offset=62)


def test_bad_symbol_name_offset() -> None:
    data, layout = build(
        [Sec(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, EXIT)], [Sym("f", 1)]
    )
    symoff = layout.section_offsets[".symtab"] + 24
    data = _patch(data, symoff, "<I", 0x5555)
    _expect(data, "name offset 0x5555", section=".symtab", offset=24)


def test_symbol_section_index_out_of_range() -> None:
    data, _ = build(
        [Sec(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, EXIT)], [Sym("f", 1), Sym("g", 40)]
    )
    _expect(data, "'g'", "section index 40 out of range", section=".symtab", offset=48)


def test_relocation_offset_outside_section() -> None:
    # ld_imm64 relocation at 16: its 16 bytes end past the 24-byte section.
    data = _rel_object(rel(16, 2, 1))
    _expect(data, "R_BPF_64_64", "outside target section '.text'", section=".rel.text", offset=0)
    data = _rel_object(rel(0, 2, 1) + rel(0x1000, 2, 10))
    _expect(data, "relocation 1", "0x1000", section=".rel.text", offset=16)


def test_unknown_relocation_type() -> None:
    data = _rel_object(rel(0, 2, 1) + rel(0, 2, 77))
    _expect(data, "unknown relocation type 77", section=".rel.text", offset=16)


def test_relocation_symbol_out_of_range() -> None:
    data = _rel_object(rel(0, 9, 1))
    _expect(data, "symbol index 9 out of range", section=".rel.text", offset=0)


def test_relocation_target_out_of_range() -> None:
    data, _ = build(
        [
            Sec(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, EXIT),
            Sec(".rel.x", SHT_REL, data=rel(0, 1, 1), link=3, info=50, entsize=16),
        ],
        [Sym("f", 1)],
    )
    _expect(data, "targets section index 50", section=".rel.x")


def test_from_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ObjectError) as info:
        ElfObject.from_file(tmp_path / "nope.o")
    assert info.value.file == str(tmp_path / "nope.o")


# -- corruption: nothing but ObjectError may escape -------------------------------------------


def _parse_or_object_error(data: bytes) -> None:
    try:
        ElfObject.from_bytes(data, file="fuzz.o")
    except ObjectError as exc:
        assert exc.file == "fuzz.o"


def test_truncation_everywhere(bpf_objects: Path) -> None:
    for path in _objects(bpf_objects):
        data = path.read_bytes()
        step = max(1, len(data) // 400)
        for n in range(0, len(data), step):
            with pytest.raises(ObjectError):
                # cutting anything off drops (part of) the trailing section header table
                ElfObject.from_bytes(data[:n], file="fuzz.o")


def _hot_ranges(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the ELF header, section headers, symtab, strtabs and REL sections."""
    obj = ElfObject.from_bytes(data)
    shoff = struct.unpack_from("<Q", data, 40)[0]
    ranges = [(0, 64), (shoff, shoff + 64 * len(obj.sections))]
    for s in obj.sections:
        if s.type in (SectionType.SYMTAB, SectionType.REL, SectionType.STRTAB):
            ranges.append((s.offset, s.offset + s.size))
    return ranges


@pytest.fixture(scope="module")
def corpus(bpf_objects: Path) -> list[tuple[bytes, list[tuple[int, int]]]]:
    return [(p.read_bytes(), _hot_ranges(p.read_bytes())) for p in _objects(bpf_objects)]


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_byte_flips_raise_only_object_error(
    corpus: list[tuple[bytes, list[tuple[int, int]]]], data: st.DataObject
) -> None:
    blob, ranges = data.draw(st.sampled_from(corpus))
    buf = bytearray(blob)
    for _ in range(data.draw(st.integers(1, 6))):
        lo, hi = data.draw(st.sampled_from(ranges))
        if hi <= lo:
            continue
        pos = data.draw(st.integers(lo, hi - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    _parse_or_object_error(bytes(buf))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_raise_only_object_error(blob: bytes) -> None:
    _parse_or_object_error(blob)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=48, max_size=48))
def test_random_header_tail_raises_only_object_error(tail: bytes) -> None:
    base = text_object(EXIT)
    _parse_or_object_error(base[:16] + tail + base[64:])


@pytest.mark.parametrize("field_off", range(0, 64, 4))
@pytest.mark.parametrize("value", [0, 0xFFFFFFFF, 0x7FFFFFFF, 1])
def test_section_header_fields(field_off: int, value: int) -> None:
    data, layout = build(
        [
            Sec(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, LD_IMM64 + EXIT),
            Sec(".rel.text", SHT_REL, data=rel(0, 1, 1), link=3, info=1, entsize=16),
        ],
        [Sym("f", 1)],
    )
    for idx in range(1, 6):
        _parse_or_object_error(_patch(data, layout.shoff + 64 * idx + field_off, "<I", value))

"""Bad-input matrix of the readers: each entry point x each class of bad input ->
the exact pybpf error type and a message naming what is wrong and where.

Entry points: ``pybpf.open`` (a file), ``ObjectSpec.from_bytes``, the
disassembler, ``BTF.from_bytes``/``BTF.from_file``, ``BTFExt.from_bytes``, the
C dumper and layouts. Classes: truncated, wrong magic, bad offsets, huge sizes,
bad (non-UTF-8) strings, unknown kinds/types, cycles and deep nesting. Every
case also checks that no file descriptor is left open.
"""

from __future__ import annotations

import os
import re
import struct
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf.asm.disasm import disassemble
from pybpf.btf import BTF
from pybpf.btf.cdump import dump_c
from pybpf.btf.elfsec import btf_sections
from pybpf.btf.ext import BTFExt
from pybpf.btf.layout import Layout
from pybpf.elf.reader import ElfObject
from pybpf.elf.spec import ObjectSpec
from pybpf.errors import BPFError, BTFError, ObjectError

OBJ_NAME = "cli_run"  # small, with .bss, .rodata, .maps, relocations, BTF and .BTF.ext
PROG_SEC = "tp/syscalls/sys_enter_getpgid"


# ---------------------------------------------------------------- ELF surgery


def _shdrs(d: bytes) -> dict[str, int]:
    """Section name -> offset of its section header."""
    shoff = struct.unpack_from("<Q", d, 40)[0]
    shnum, shstrndx = struct.unpack_from("<HH", d, 60)
    strs = struct.unpack_from("<Q", d, shoff + shstrndx * 64 + 24)[0]
    out = {}
    for i in range(shnum):
        n = struct.unpack_from("<I", d, shoff + i * 64)[0]
        out[d[strs + n : d.index(b"\0", strs + n)].decode()] = shoff + i * 64
    return out


def _put(d: bytes, fmt: str, off: int, value: int) -> bytes:
    b = bytearray(d)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


def _shdr(d: bytes, sec: str, field: str, value: int) -> bytes:
    off, fmt = {"type": (4, "<I"), "offset": (24, "<Q"), "size": (32, "<Q"), "link": (40, "<I")}[
        field
    ]
    return _put(d, fmt, _shdrs(d)[sec] + off, value)


def _sec_data_off(d: bytes, sec: str) -> int:
    return int(struct.unpack_from("<Q", d, _shdrs(d)[sec] + 24)[0])


def _sym(d: bytes, name: bytes) -> int:
    """File offset of the symbol table entry called ``name``."""
    strtab = _sec_data_off(d, ".strtab")
    tab = _sec_data_off(d, ".symtab")
    size = struct.unpack_from("<Q", d, _shdrs(d)[".symtab"] + 32)[0]
    for i in range(size // 24):
        n = struct.unpack_from("<I", d, tab + i * 24)[0]
        if d[strtab + n : d.index(b"\0", strtab + n)] == name:
            return tab + i * 24
    raise AssertionError(name)


def _rel(d: bytes, field: int, value: int) -> bytes:
    """Patch the first relocation of the program section (field 0: r_offset, 8: r_info)."""
    return _put(d, "<Q", _sec_data_off(d, ".rel" + PROG_SEC) + field, value)


# ---------------------------------------------------------------- BTF surgery


def _info(kind: int, vlen: int = 0) -> int:
    return (kind << 24) | vlen


_STRS = b"\0int\0a\0b\0\xff\xfename\0"  # offsets: int=1 a=5 b=7 (non-UTF-8)=9
_INT = [1, _info(1), 4, 32]  # [1] int


def _btf(*words: int, strs: bytes = _STRS) -> bytes:
    types = struct.pack(f"<{len(words)}I", *words)
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    return hdr + types + strs


def _hdr(blob: bytes, off: int, value: int) -> bytes:
    return _put(blob, "<I", off, value)


def _const_chain(n: int) -> list[int]:
    words = list(_INT)
    for i in range(2, n + 2):
        words += [0, _info(10), i - 1]  # [i] const -> [i-1]
    return words


def _anon_nest(n: int) -> list[int]:
    words = list(_INT)
    for i in range(2, n + 2):
        words += [0, _info(4, 1), 4, 0, i - 1, 0]  # [i] struct { [i-1]; } (anonymous member)
    return words


# ---------------------------------------------------------------- entry points


def _open(tmp: Path, data: bytes) -> Any:
    path = tmp / "bad.bpf.o"
    path.write_bytes(data)
    obj = pybpf.open(path)
    obj.close()
    return obj


def _spec(_tmp: Path, data: bytes) -> Any:
    return ObjectSpec.from_bytes(data, file="mem.bpf.o")


def _disasm(_tmp: Path, data: bytes) -> Any:
    return disassemble(ElfObject.from_bytes(data, file="mem.bpf.o"), relocs=True)


def _btf_walk(b: BTF) -> BTF:
    for tid in range(1, len(b)):
        b.type_name(tid)
        b.size_of(tid)
    return b


def _btf_bytes(_tmp: Path, data: bytes) -> Any:
    return _btf_walk(BTF.from_bytes(data))


def _btf_file(tmp: Path, data: bytes) -> Any:
    path = tmp / "bad.btf"
    path.write_bytes(data)
    return _btf_walk(BTF.from_file(path))


def _cdump(_tmp: Path, data: bytes) -> Any:
    return dump_c(BTF.from_bytes(data))


def _layout(_tmp: Path, data: bytes) -> Any:
    b = BTF.from_bytes(data)
    return [Layout.for_type(b, tid).zero() for tid in range(1, len(b))]


OBJECT_ENTRIES: dict[str, Callable[[Path, bytes], Any]] = {
    "open": _open,
    "spec": _spec,
    "disasm": _disasm,
}
BTF_ENTRIES: dict[str, Callable[[Path, bytes], Any]] = {
    "btf": _btf_bytes,
    "btf_file": _btf_file,
    "cdump": _cdump,
    "layout": _layout,
}


# ---------------------------------------------------------------- the matrix

# (class, case, input builder, error type, message regex); the regex must name
# where the problem is (file, section, offset or type id) as well as what it is.
ObjCase = tuple[str, str, Callable[[bytes], bytes], type[BPFError], str]
OBJECT_CASES: list[ObjCase] = [
    ("truncated", "header", lambda d: d[:40], ObjectError, r"offset 0x28: truncated ELF header"),
    (
        "truncated",
        "half",
        lambda d: d[: len(d) // 2],
        ObjectError,
        r"offset 0x28: section header table at 0x[0-9a-f]+ extends past end of file",
    ),
    ("magic", "elf", lambda d: b"\x7fELG" + d[4:], ObjectError, r"offset 0x0: not an ELF file"),
    (
        "magic",
        "32-bit",
        lambda d: d[:4] + b"\x01" + d[5:],
        ObjectError,
        r"offset 0x4: not a 64-bit ELF object",
    ),
    (
        "magic",
        "machine",
        lambda d: _put(d, "<H", 18, 62),
        ObjectError,
        r"offset 0x12: not a BPF object \(e_machine=62",
    ),
    (
        "offsets",
        "section-data",
        lambda d: _shdr(d, ".maps", "offset", 0xFFFFFF00),
        ObjectError,
        r"section '\.maps', offset 0xffffff00: section data .* extends past end of file",
    ),
    (
        "offsets",
        "symbol-name",
        lambda d: _put(d, "<I", _sym(d, b"hits"), 0xFFFFFF),
        ObjectError,
        r"section '\.symtab', offset 0x[0-9a-f]+: symbol \d+: name offset 0xffffff outside",
    ),
    (
        "offsets",
        "symbol-section",
        lambda d: _put(d, "<H", _sym(d, b"hits") + 6, 900),
        ObjectError,
        r"section '\.symtab', offset 0x[0-9a-f]+: symbol \d+ \('hits'\): section index 900",
    ),
    (
        "offsets",
        "relocation-offset",
        lambda d: _rel(d, 0, 0x10000),
        ObjectError,
        r"section '\.reltp/syscalls/sys_enter_getpgid', offset 0x0: relocation 0 .* outside",
    ),
    (
        "offsets",
        "relocation-symbol",
        lambda d: _rel(d, 8, (0xFFFF << 32) | 1),
        ObjectError,
        r"offset 0x0: relocation 0: symbol index 65535 out of range",
    ),
    (
        "huge",
        "section-size",
        lambda d: _shdr(d, ".maps", "size", 1 << 62),
        ObjectError,
        r"section '\.maps', offset 0x[0-9a-f]+: section data \(0x4000000000000000 bytes",
    ),
    (
        "huge",
        "section-count",
        lambda d: _put(d, "<H", 60, 0xFFF0),
        ObjectError,
        r"section header table \(65520 entries at 0x[0-9a-f]+\) extends past end of file",
    ),
    (
        "strings",
        "unterminated-name",
        lambda d: _put(d, "<I", _sym(d, b"hits"), len(d)),
        ObjectError,
        r"section '\.symtab', .*name offset 0x[0-9a-f]+ outside string table",
    ),
    (
        "unknown",
        "relocation-type",
        lambda d: _rel(d, 8, (15 << 32) | 99),
        ObjectError,
        r"section '\.reltp/syscalls/sys_enter_getpgid', offset 0x0: .*unknown relocation type 99",
    ),
    (
        "cycles",
        "symtab-links-itself",
        lambda d: _shdr(d, ".symtab", "link", list(_shdrs(d)).index(".symtab")),
        ObjectError,
        r"section '\.symtab': symbol table links to '\.symtab', which is not a string table",
    ),
]

# Inputs every object entry point accepts: how libbpf treats them too.
ACCEPTED_OBJECTS: list[tuple[str, str, Callable[[bytes], bytes]]] = [
    ("huge", "bss-2GiB", lambda d: _shdr(d, ".bss", "size", 0x7FFF0000)),
    ("strings", "non-utf8-names", lambda d: d.replace(b"on_getpgid\0", b"on_getpg\xff\xfe\0")),
    ("strings", "non-utf8-license", lambda d: d.replace(b"GPL\0", b"G\xffL\0", 1)),
    ("unknown", "section-type", lambda d: _shdr(d, ".debug_frame", "type", 0x60000001)),
]

BtfCase = tuple[str, str, Callable[[bytes], bytes], str]
# one error type for all BTF cases (BTFError); the regexes per case
BTF_CASES: list[BtfCase] = [
    ("truncated", "header", lambda raw: raw[:10], r"section '\.BTF', offset 0x0: too short"),
    (
        "truncated",
        "strings",
        lambda raw: raw[:-5],
        r"offset 0x[0-9a-f]+: string section runs past the end",
    ),
    ("magic", "btf", lambda raw: b"\x9f\xea" + raw[2:], r"offset 0x0: bad magic 0xea9f"),
    (
        "offsets",
        "type-section",
        lambda raw: _hdr(raw, 8, 0xFFFF0),
        r"offset 0x100008: type section runs past the end",
    ),
    (
        "offsets",
        "name",
        lambda raw: _btf(65535, _info(1), 4, 32),
        r"type \[1\].*string offset 65535 out of range",
    ),
    (
        "offsets",
        "type-id",
        lambda raw: _btf(*_INT, 0, _info(2), 99),
        r"(type id 99 out of range|type \[2\] \(PTR\) refers to type \[99\])",
    ),
    (
        "huge",
        "header-length",
        lambda raw: _hdr(raw, 4, 0xFFFFFFF0),
        r"offset 0x4: bad header length",
    ),
    (
        "huge",
        "string-length",
        lambda raw: _hdr(raw, 20, 0xFFFFFFF0),
        r"offset 0x[0-9a-f]+: string section runs past the end",
    ),
    (
        "unknown",
        "kind",
        lambda raw: _btf(*_INT, 0, _info(25), 0),
        r"offset 0x2c: type \[2\] has unknown kind 25",
    ),
    (
        "cycles",
        "typedef-loop",
        lambda raw: _btf(*_INT, 5, _info(8), 3, 7, _info(8), 2),
        r"(loop|nest).*type \[[23]\]|type references loop",
    ),
    (
        "cycles",
        "const-chain-5000",
        lambda raw: _btf(*_const_chain(5000)),
        r"(loop|nest).*type \[\d+\]|type references loop|nest",
    ),
]

# A long modifier chain is valid C: the C dumper writes it (bpftool does too),
# while type queries and layouts stop at their depth limit.
BTF_ACCEPTED = {("cdump", "const-chain-5000")}

# Layout/C-dump-specific: BTF that reads fine but has no value layout / no C form.
DERIVED_CASES: list[tuple[str, str, str, Callable[[], bytes], str]] = [
    (
        "layout",
        "cycles",
        "struct-embeds-itself",
        lambda: _btf(*_INT, 5, _info(4, 1), 4, 5, 2, 0),
        r"section '\.BTF': type \[2\] nests too deeply",
    ),
    (
        "cdump",
        "cycles",
        "struct-embeds-itself",
        lambda: _btf(*_INT, 5, _info(4, 1), 4, 5, 2, 0),
        r"section '\.BTF': unsatisfiable type cycle at type \[2\] 'a'",
    ),
    (
        "layout",
        "cycles",
        "anonymous-nesting-2000",
        lambda: _btf(*_anon_nest(2000)),
        r"section '\.BTF': .*nests? too deeply",
    ),
    (
        "layout",
        "huge",
        "array-4G-elements",
        lambda: _btf(*_INT, 0, _info(3), 0, 1, 1, 0xFFFFFFFF),
        r"type \[2\] \(int\[4294967295\]\) is too large for a value layout",
    ),
    (
        "cdump",
        "huge",
        "padding-2MiB-x-120",
        lambda: _btf(*_INT, *[5, _info(4, 1), (1 << 21) - 8, 7, 1, 0] * 120),
        r"section '\.BTF': the C header would exceed \d+ characters",
    ),
    (
        "layout",
        "strings",
        "duplicate-members",
        lambda: _btf(*_INT, 5, _info(4, 2), 8, 7, 1, 0, 7, 1, 32),
        r"section '\.BTF': struct a: two members are called 'b'",
    ),
]


# ---------------------------------------------------------------- fixtures


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def no_fd_left() -> Iterator[None]:
    before = _fds()
    yield
    assert _fds() - before == set(), "a reader left a file descriptor open"


@pytest.fixture(scope="module")
def obj_bytes(bpf_obj) -> bytes:  # type: ignore[no-untyped-def]
    return bytes(bpf_obj(OBJ_NAME).read_bytes())


@pytest.fixture(scope="module")
def raw_btf(obj_bytes: bytes) -> tuple[bytes, bytes]:
    raw, ext = btf_sections(obj_bytes)
    assert raw is not None and ext is not None
    return raw, ext


def _where(entry: str, tmp: Path) -> str:
    """The file name an entry point's errors must start with."""
    return {"open": re.escape(str(tmp / "bad.bpf.o")), "btf_file": ""}.get(entry, r"mem\.bpf\.o")


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("entry", list(OBJECT_ENTRIES))
@pytest.mark.parametrize(
    ("cls", "case", "build", "etype", "pattern"),
    OBJECT_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in OBJECT_CASES],
)
def test_object_matrix(
    entry: str,
    cls: str,
    case: str,
    build: Callable[[bytes], bytes],
    etype: type[BPFError],
    pattern: str,
    obj_bytes: bytes,
    tmp_path: Path,
    no_fd_left: None,
) -> None:
    data = build(obj_bytes)
    with pytest.raises(BPFError) as info:
        OBJECT_ENTRIES[entry](tmp_path, data)
    assert type(info.value) is etype
    assert not (isinstance(info.value, ObjectError) and info.value.unexpected), info.value
    assert re.match(_where(entry, tmp_path), str(info.value)), str(info.value)
    assert re.search(pattern, str(info.value)), str(info.value)


@pytest.mark.parametrize("entry", list(OBJECT_ENTRIES))
@pytest.mark.parametrize(
    ("cls", "case", "build"), ACCEPTED_OBJECTS, ids=[f"{c[0]}-{c[1]}" for c in ACCEPTED_OBJECTS]
)
def test_object_matrix_accepted(
    entry: str,
    cls: str,
    case: str,
    build: Callable[[bytes], bytes],
    obj_bytes: bytes,
    tmp_path: Path,
    no_fd_left: None,
) -> None:
    data = build(obj_bytes)
    tracemalloc.start()
    try:
        OBJECT_ENTRIES[entry](tmp_path, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a 2 GiB .bss stays lazy: nothing near its size is allocated at open
    assert peak < 64 << 20


def test_huge_bss_is_lazy_until_used(obj_bytes: bytes) -> None:
    data = _shdr(obj_bytes, ".bss", "size", 0x10000)
    obj = pybpf.open(data)
    try:
        ms = obj.spec.maps[".bss"]
        assert ms.data == b"" and ms.value_size == 0x10000
        assert ".bss" not in obj._images
        buf = obj._section_buffer(".bss")  # made on first use, all zeros
        assert len(buf) == 0x10000 and not any(buf)
    finally:
        obj.close()


def test_bss_beyond_kernel_limit(obj_bytes: bytes) -> None:
    with pytest.raises(ObjectError) as info:
        ObjectSpec.from_bytes(_shdr(obj_bytes, ".bss", "size", 1 << 40), file="mem.bpf.o")
    assert info.value.section == ".bss"
    assert "more than a BPF array map can hold" in str(info.value)


def test_unknown_symbol_type_is_ignored_as_libbpf_does(obj_bytes: bytes) -> None:
    """An STT type pybpf does not know is kept as a number; a variable whose symbol
    is not STT_OBJECT is then not found, as with libbpf, and said so by name."""
    off = _sym(obj_bytes, b"targ_pid")
    data = _put(obj_bytes, "<B", off + 4, (1 << 4) | 13)
    elf = ElfObject.from_bytes(data)
    assert {s.type for s in elf.symbols if s.name == "targ_pid"} == {13}
    disassemble(elf)
    with pytest.raises(ObjectError, match=r"section '\.rodata': no ELF symbol for BTF variable"):
        ObjectSpec.from_bytes(data, file="mem.bpf.o")


@pytest.mark.parametrize("entry", list(BTF_ENTRIES))
@pytest.mark.parametrize(
    ("cls", "case", "build", "pattern"), BTF_CASES, ids=[f"{c[0]}-{c[1]}" for c in BTF_CASES]
)
def test_btf_matrix(
    entry: str,
    cls: str,
    case: str,
    build: Callable[[bytes], bytes],
    pattern: str,
    raw_btf: tuple[bytes, bytes],
    tmp_path: Path,
    no_fd_left: None,
) -> None:
    data = build(raw_btf[0])
    if (entry, case) in BTF_ACCEPTED:
        BTF_ENTRIES[entry](tmp_path, data)
        return
    with pytest.raises(BPFError) as info:
        BTF_ENTRIES[entry](tmp_path, data)
    assert type(info.value) is BTFError
    assert not (isinstance(info.value, ObjectError) and info.value.unexpected), info.value
    assert re.search(pattern, str(info.value)), str(info.value)
    if entry == "btf_file":
        assert str(tmp_path / "bad.btf") in str(info.value)
    else:
        assert "'.BTF'" in str(info.value)


@pytest.mark.parametrize(
    ("entry", "cls", "case", "build", "pattern"),
    DERIVED_CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in DERIVED_CASES],
)
def test_layout_and_cdump_matrix(
    entry: str,
    cls: str,
    case: str,
    build: Callable[[], bytes],
    pattern: str,
    tmp_path: Path,
    no_fd_left: None,
) -> None:
    with pytest.raises(BPFError) as info:
        BTF_ENTRIES[entry](tmp_path, build())
    assert type(info.value) is BTFError
    assert re.search(pattern, str(info.value)), str(info.value)


@pytest.mark.parametrize("entry", list(BTF_ENTRIES))
def test_non_utf8_names_are_kept_as_bytes(entry: str, tmp_path: Path, no_fd_left: None) -> None:
    """BTF names are bytes: non-UTF-8 ones survive every reader (bpftool prints them raw)."""
    data = _btf(*_INT, 9, _info(4, 1), 4, 5, 1, 0)  # struct "\xff\xfename" { int a; }
    out = BTF_ENTRIES[entry](tmp_path, data)
    if entry == "cdump":
        assert "struct \udcff\udcfename {" in out
        assert out.encode("utf-8", "surrogateescape").count(b"\xff\xfename") == 1
    if entry == "layout":
        assert out[1].a == 0 and repr(out[1]).startswith("\udcff\udcfename(")


# -- .BTF.ext ------------------------------------------------------------------

ExtCase = tuple[str, str, Callable[[bytes], bytes], str]
EXT_CASES: list[ExtCase] = [
    ("truncated", "header", lambda e: e[:6], r"section '\.BTF\.ext', offset 0x0: too short"),
    (
        "truncated",
        "records",
        lambda e: e[: len(e) - 6],
        r"section '\.BTF\.ext', offset 0x[0-9a-f]+: \w+ runs past the end",
    ),
    (
        "huge",
        "record-size-unaligned",
        lambda e: _hdr(e, 32, 0xFFFFFFF1),
        r"offset 0x20: func_info record size 4294967281 is invalid",
    ),
    ("magic", "ext", lambda e: b"\x00\x00" + e[2:], r"offset 0x0: bad magic 0x0000"),
    (
        "magic",
        "version",
        lambda e: e[:2] + b"\x07" + e[3:],
        r"offset 0x2: unsupported .* version 7",
    ),
    (
        "offsets",
        "func-info",
        lambda e: _hdr(e, 8, 0xFFFFF0),
        r"offset 0x[0-9a-f]+: func_info runs past the end",
    ),
    (
        "offsets",
        "section-name",
        lambda e: _hdr(e, 32 + 4, 0xFFFFFF),
        r"offset 0x24: string offset 16777215 is outside the \.BTF strings",
    ),
    ("huge", "header-length", lambda e: _hdr(e, 4, 0xFFFFFFF0), r"offset 0x4: bad header length"),
    (
        "huge",
        "record-count",
        lambda e: _hdr(e, 32 + 8, 0xFFFFFFF),
        r"offset 0x2c: func_info records for section .* run past the end",
    ),
    (
        "huge",
        "record-size",
        lambda e: _hdr(e, 32, 0xFFFFFFF0),
        r"offset 0x2c: func_info records for section .* run past the end",
    ),
]


@pytest.mark.parametrize(
    ("cls", "case", "build", "pattern"), EXT_CASES, ids=[f"{c[0]}-{c[1]}" for c in EXT_CASES]
)
def test_btf_ext_matrix(
    cls: str,
    case: str,
    build: Callable[[bytes], bytes],
    pattern: str,
    raw_btf: tuple[bytes, bytes],
    no_fd_left: None,
) -> None:
    raw, ext = raw_btf
    btf = BTF.from_bytes(raw)
    with pytest.raises(BPFError) as info:
        BTFExt.from_bytes(build(ext), btf)
    assert type(info.value) is BTFError
    assert re.search(pattern, str(info.value)), str(info.value)


def test_btf_ext_unknown_core_kind(raw_btf: tuple[bytes, bytes], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    raw, ext = btf_sections(bpf_obj("core").read_bytes())
    assert raw is not None and ext is not None
    hdr_len, cr_off = struct.unpack_from("<II", ext, 4)[0], struct.unpack_from("<I", ext, 24)[0]
    first = hdr_len + cr_off + 4 + 8  # record size, (section name, count), first record
    bad = _hdr(ext, first + 12, 99)
    with pytest.raises(BTFError, match=r"offset 0x[0-9a-f]+: unknown CO-RE relocation kind 99"):
        BTFExt.from_bytes(bad, BTF.from_bytes(raw))


def test_disassembler_prints_unknown_opcodes(obj_bytes: bytes) -> None:
    """Garbage code is not an error: like llvm-objdump, the line says <unknown>."""
    off = _sec_data_off(obj_bytes, PROG_SEC)
    data = obj_bytes[:off] + b"\xff" * 8 + obj_bytes[off + 8 :]
    text = disassemble(ElfObject.from_bytes(data))
    assert "ff ff ff ff ff ff ff ff\t<unknown>" in text

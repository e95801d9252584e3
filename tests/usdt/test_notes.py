"""USDT note and argument-spec parsing on the target gcc built, checked against readelf."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import need
from tests.usdt.conftest import UsdtBuild

import pybpf
from pybpf.errors import ObjectError
from pybpf.link.usdt.notes import (
    MAX_ARGS,
    PT_REGS_OFFSETS,
    ArgKind,
    SpecLayout,
    UsdtArg,
    UsdtNote,
    elf_type,
    find_probes,
    parse_arg,
    parse_args,
    parse_notes,
    read_notes,
)

_READELF = re.compile(
    r"Provider: (?P<provider>\S+)\s+Name: (?P<name>\S+)\s+"
    r"Location: (?P<pc>0x[0-9a-f]+), Base: (?P<base>0x[0-9a-f]+), "
    r"Semaphore: (?P<sema>0x[0-9a-f]+)\s+Arguments:(?P<args>[^\n]*)"
)


def readelf_notes(path: Path) -> list[tuple[str, str, int, int, int, str]]:
    """The stapsdt notes as ``readelf -n`` prints them."""
    exe = shutil.which("readelf") or shutil.which("llvm-readelf-19")
    need(exe is not None, "readelf is needed for the differential note test")
    assert exe is not None
    out = subprocess.run([exe, "-n", "--wide", str(path)], capture_output=True, text=True).stdout
    return [
        (
            m["provider"],
            m["name"],
            int(m["pc"], 16),
            int(m["base"], 16),
            int(m["sema"], 16),
            m["args"].strip(),
        )
        for m in _READELF.finditer(out)
    ]


@pytest.fixture(params=["pie", "nopie"])
def build(request: pytest.FixtureRequest) -> UsdtBuild:
    b: UsdtBuild = request.getfixturevalue(f"usdt_{request.param}")
    return b


def test_notes_match_readelf(build: UsdtBuild) -> None:
    for path in (build.exe, build.lib):
        ours = [
            (n.provider, n.name, n.pc, n.base, n.semaphore, n.args) for n in read_notes(str(path))
        ]
        theirs = readelf_notes(path)
        assert theirs, f"readelf found no notes in {path}"
        assert ours == theirs
    names = {(n.provider, n.name) for n in read_notes(str(build.exe))}
    assert names == {
        ("pybpf", p) for p in ("consts", "regs", "mem", "glob", "sib", "sema", "twice")
    }


def _symbol(path: Path, name: str) -> int:
    with open(path, "rb") as f:
        sym = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name(name)  # type: ignore[union-attr]
        return int(sym[0]["st_value"])


def test_probe_offsets_point_at_the_nops(build: UsdtBuild) -> None:
    for path in (build.exe, build.lib):
        data = path.read_bytes()
        probes = find_probes(str(path))
        assert len(probes) == len(read_notes(str(path)))
        for p in probes:
            assert data[p.offset] == 0x90, f"{p.provider}:{p.name} offset {p.offset:#x} is no nop"
    assert (elf_type(str(build.exe)) == "ET_DYN") == (build.dir.name == "pie")
    assert elf_type(str(build.lib)) == "ET_DYN"
    (sema,) = find_probes(str(build.exe), "pybpf", "sema")
    assert sema.semaphore == _symbol(build.exe, "pybpf_sema_semaphore")
    assert sema.semaphore_offset and build.exe.read_bytes()[sema.semaphore_offset :][:2] == b"\0\0"
    assert all(not p.semaphore for p in find_probes(str(build.exe)) if p.name != "sema")
    assert len(find_probes(str(build.exe), "pybpf", "twice")) == 2
    assert find_probes(str(build.exe), "pybpf", "nope") == []


def test_arguments_of_the_built_target(build: UsdtBuild) -> None:
    probes = {p.name: p for p in find_probes(str(build.exe))}
    consts = probes["consts"].args
    assert [a.kind for a in consts] == [ArgKind.CONST] * 4
    # (unsigned char)200 may be written as $-56: the bitshift narrows it back
    assert [(a.val_off, a.size, a.signed) for a in consts][:3] == [
        (42, 4, True),
        (-7, 4, True),
        (-1234567890123, 8, True),
    ]
    assert (consts[3].val_off & 0xFF, consts[3].size, consts[3].signed) == (200, 1, False)
    regs = probes["regs"].args
    assert [a.size for a in regs] == [1, 1, 2, 2, 4, 4, 8, 8]
    assert [a.signed for a in regs] == [True, False] * 4
    assert all(a.kind in (ArgKind.REG, ArgKind.REG_DEREF) for a in regs)
    mem = probes["mem"].args
    assert [(a.kind, a.reg) for a in mem] == [(ArgKind.REG_DEREF, "rbp")] * 4
    assert [(a.size, a.signed) for a in mem] == [(4, True), (2, False), (8, True), (1, True)]
    glob = probes["glob"]
    for arg, sym in zip(glob.args, ("pybpf_glob_int", "pybpf_glob_ulong"), strict=True):
        assert sym in arg.text
        if arg.reg == "rip":  # %rip-relative: the offset is from the probe's address
            assert arg.kind is ArgKind.REG_DEREF
            assert glob.address + arg.val_off == _symbol(build.exe, sym)
    (sib,) = probes["sib"].args
    assert (sib.kind, sib.size, sib.signed, sib.scale) == (ArgKind.SIB, 4, True, 4)
    assert sib.index_reg and sib.reg


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("-4@$5", (4, True, ArgKind.CONST, 5, "", "", 1)),
        ("4@$-9", (4, False, ArgKind.CONST, -9, "", "", 1)),
        ("8@$0x10", (8, False, ArgKind.CONST, 16, "", "", 1)),
        ("-4@%eax", (4, True, ArgKind.REG, 0, "eax", "", 1)),
        ("-2@%cx", (2, True, ArgKind.REG, 0, "cx", "", 1)),
        ("1@%sil", (1, False, ArgKind.REG, 0, "sil", "", 1)),
        ("8@%r15", (8, False, ArgKind.REG, 0, "r15", "", 1)),
        ("8@-8(%rbp)", (8, False, ArgKind.REG_DEREF, -8, "rbp", "", 1)),
        ("-4@-1204(%rbp)", (4, True, ArgKind.REG_DEREF, -1204, "rbp", "", 1)),
        ("8@(%rsp)", (8, False, ArgKind.REG_DEREF, 0, "rsp", "", 1)),
        ("-4@(%rdx,%rcx,4)", (4, True, ArgKind.SIB, 0, "rdx", "rcx", 4)),
        ("1@-96(%rbp,%rax,8)", (1, False, ArgKind.SIB, -96, "rbp", "rax", 8)),
        ("-1@-96(%rbp,%rax)", (1, True, ArgKind.SIB, -96, "rbp", "rax", 1)),
        ("2@( %rbp , %rax )", (2, False, ArgKind.SIB, 0, "rbp", "rax", 1)),
    ],
)
def test_parse_arg(text: str, expect: tuple[object, ...]) -> None:
    a = parse_arg(text)
    assert (a.size, a.signed, a.kind, a.val_off, a.reg, a.index_reg, a.scale) == expect
    assert a.bitshift == 64 - 8 * a.size
    if a.reg:
        assert a.reg_off == PT_REGS_OFFSETS[a.reg]


def test_parse_arg_rip_symbols() -> None:
    syms = {"counter": 0x4010, "table": 0x5000}.get
    a = parse_arg("-4@counter(%rip)", pc=0x1200, symbols=syms)
    assert (a.kind, a.reg, a.val_off) == (ArgKind.REG_DEREF, "rip", 0x4010 - 0x1200)
    a = parse_arg("8@table+16(%rip)", pc=0x1200, symbols=syms)
    assert a.val_off == 0x5000 + 16 - 0x1200
    with pytest.raises(ObjectError, match="not defined"):
        parse_arg("8@missing(%rip)", pc=0x1200, symbols=syms)
    with pytest.raises(ObjectError, match="symbol table"):
        parse_arg("8@counter(%rip)")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("3@%rax", "size 3"),
        ("16@%rax", "size 16"),
        ("8@%xmm0", r"register %xmm0"),
        ("1@%ah", r"register %ah"),
        ("8@(%rax,%rbx,3)", "scale 3"),
        ("-4@counter(%rbx)", "only %rip-relative"),
        ("8@%fs:40", "unsupported location"),
        ("%rax", "expected <size>@<location>"),
        ("8@", "expected <size>@<location>"),
    ],
)
def test_parse_arg_rejects(text: str, why: str) -> None:
    with pytest.raises(ObjectError, match=re.escape(why)) as exc:
        parse_arg(text, where=" of p:n")
    assert text in str(exc.value) and "p:n" in str(exc.value)


def test_parse_args_limits() -> None:
    assert parse_args("") == ()
    assert len(parse_args(" ".join(["8@%rax"] * MAX_ARGS))) == MAX_ARGS
    with pytest.raises(ObjectError, match="13 arguments"):
        parse_args(" ".join(["8@%rax"] * 13))


def test_pt_regs_offsets_match_kernel_btf() -> None:
    vmlinux = Path("/sys/kernel/btf/vmlinux")
    need(vmlinux.exists(), "no kernel BTF to check struct pt_regs against")
    from pybpf.btf.reader import BTF

    btf = BTF.load_vmlinux()
    regs = btf.type(btf.find_one("pt_regs"))
    offsets = {m.name: m.bit_offset // 8 for m in regs.members}  # type: ignore[union-attr]
    kernel_name = {"rbp": "bp", "rbx": "bx", "rax": "ax", "rcx": "cx", "rdx": "dx"}
    kernel_name |= {"rsi": "si", "rdi": "di", "rip": "ip", "rsp": "sp"}
    for reg in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip", "r8", "r15"):
        assert PT_REGS_OFFSETS[reg] == offsets[kernel_name.get(reg, reg)], reg
    assert PT_REGS_OFFSETS["eax"] == PT_REGS_OFFSETS["al"] == PT_REGS_OFFSETS["rax"]


def _note(
    provider: bytes,
    name: bytes,
    args: bytes,
    pc: int = 0x1000,
    owner: bytes = b"stapsdt",
    ntype: int = 3,
) -> bytes:
    desc = struct.pack("<3Q", pc, 0x2000, 0) + provider + b"\0" + name + b"\0" + args + b"\0"
    owner_z = owner + b"\0"
    pad = lambda b: b + bytes(-len(b) % 4)  # noqa: E731
    return struct.pack("<3I", len(owner_z), len(desc), ntype) + pad(owner_z) + pad(desc)


def test_parse_notes_synthetic() -> None:
    data = _note(b"prov", b"a", b"-4@%eax") + _note(b"x", b"y", b"", owner=b"GNU")
    data += _note(b"prov", b"b", b":") + _note(b"prov", b"c", b"", ntype=1)
    notes = parse_notes(data, file="f")
    assert notes == [
        UsdtNote("prov", "a", 0x1000, 0x2000, 0, "-4@%eax", 0),
        UsdtNote("prov", "b", 0x1000, 0x2000, 0, "", notes[1].offset),
    ]


def test_parse_notes_malformed(usdt_pie: UsdtBuild) -> None:
    with open(usdt_pie.exe, "rb") as f:
        data = ELFFile(f).get_section_by_name(".note.stapsdt").data()  # type: ignore[union-attr]
    assert len(parse_notes(data)) == len(read_notes(str(usdt_pie.exe)))
    with pytest.raises(ObjectError, match="runs past") as exc:
        parse_notes(data[:-8], file="t.bin")
    assert exc.value.file == "t.bin" and exc.value.section == ".note.stapsdt"
    with pytest.raises(ObjectError, match="too short"):
        parse_notes(struct.pack("<3I", 8, 4, 3) + b"stapsdt\0" + b"abcd")
    with pytest.raises(ObjectError, match="empty probe name"):
        parse_notes(_note(b"p", b"", b""))
    with pytest.raises(ObjectError, match="not an ELF"):
        find_probes(__file__)
    with pytest.raises(ObjectError, match="cannot read"):
        read_notes("/nonexistent/usdt/binary")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_parse_notes_fuzz(data: bytes) -> None:
    try:
        notes = parse_notes(_note(b"p", b"n", b"8@%rax") + data)
    except ObjectError:
        return
    assert notes[0].name == "n"


def _object_layout(bpf_obj: object, name: str = "usdt_args") -> SpecLayout:
    obj = pybpf.open(bpf_obj(name))  # type: ignore[operator]
    m = obj.maps["__bpf_usdt_specs"]
    assert m.btf is not None
    return SpecLayout.from_btf(m.btf, m.value_type_id)


def test_spec_layout_from_object_btf(bpf_obj: object) -> None:
    layout = _object_layout(bpf_obj)
    default = SpecLayout.default()
    assert (layout.size, layout.max_args, layout.arg_size) == (208, 12, 16)
    assert layout.spec_fields == default.spec_fields
    args = parse_args("-4@$-7 1@%sil -8@-16(%rbp) 8@%rdx")
    raw = layout.encode(args, cookie=0x1122334455667788)
    assert raw == default.encode(args, cookie=0x1122334455667788)
    # args[2]: val_off -16, REG_DEREF, reg_off of rbp, signed, bitshift 0
    assert struct.unpack_from("<qIhbb", raw, 32) == (-16, 2, 32, 1, 0)
    assert struct.unpack_from("<qIhbb", raw, 0) == (-7, 0, 0, 1, 32)
    assert struct.unpack_from("<Qh", raw, 192) == (0x1122334455667788, 4)


def test_sib_needs_a_new_enough_usdt_header(bpf_obj: object) -> None:
    sib = parse_args("-4@-8(%rdx,%rcx,4)")
    for layout in (_object_layout(bpf_obj), SpecLayout.default()):
        assert not layout.supports_sib  # Debian's libbpf 1.1 usdt.bpf.h; no BTF: unknown
        with pytest.raises(ObjectError, match="BPF_USDT_ARG_SIB"):
            layout.encode(sib)


def test_sib_layout_from_btf(bpf_obj: object) -> None:
    # usdt_sib.bpf.c declares the newer header's struct: its bitfields push reg_off
    # to byte 14 and make each arg spec 24 bytes, which only the BTF says
    layout = _object_layout(bpf_obj, "usdt_sib")
    assert layout.supports_sib and (layout.size, layout.arg_size) == (304, 24)
    raw = layout.encode(parse_args("8@%rax -4@-8(%rdx,%rcx,4)"), cookie=5)
    val_off, word = struct.unpack_from("<qI", raw, 24)
    (reg_off,) = struct.unpack_from("<h", raw, 24 + 14)
    signed, shift = raw[24 + 16], raw[24 + 17]
    assert (val_off, reg_off, signed, shift) == (-8, PT_REGS_OFFSETS["rdx"], 1, 32)
    # arg_type in bits 0-7, idx_reg_off in 16-27, scale_bitshift in 28-31 of that word
    assert (word & 0xFF, (word >> 16) & 0xFFF, word >> 28) == (3, PT_REGS_OFFSETS["rcx"], 2)
    assert struct.unpack_from("<qI", raw, 0) == (0, 1)  # 8@%rax: REG
    assert struct.unpack_from("<Qh", raw, 288) == (5, 2)


def test_usdt_arg_is_plain_data() -> None:
    a = UsdtArg("8@%rax", 8, False, ArgKind.REG, reg="rax")
    assert a.reg_off == 80 and a.idx_reg_off == 0 and a.bitshift == 0


def test_hidden_subprograms_become_static(bpf_obj: object) -> None:
    # usdt.bpf.h's helpers are __weak __hidden: verified in their callers' context
    from pybpf.btf.types import Func, Linkage

    btf = pybpf.open(bpf_obj("usdt_args")).spec.btf  # type: ignore[operator]
    assert btf is not None
    funcs = {t.name: t.linkage for _, t in btf if isinstance(t, Func)}
    assert funcs["bpf_usdt_arg"] == funcs["bpf_usdt_arg_cnt"] == Linkage.STATIC
    assert funcs["usdt_any"] == funcs["usdt_regs"] == Linkage.GLOBAL

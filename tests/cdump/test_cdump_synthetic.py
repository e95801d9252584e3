"""Edge cases from hand-built BTF: each blob is dumped by pybpf and by bpftool.

Raw BTF files are what ``bpftool btf dump file`` reads for /sys/kernel/btf/*, so
the same byte-for-byte comparison applies; headers that should be valid C are
compiled with clang as well.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cdump_synth import raw_btf, syntax_check

from pybpf.btf import (
    Array,
    Const,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Linkage,
    Member,
    Param,
    Ptr,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Volatile,
)
from pybpf.btf.cdump import dump_c, kfunc_ids
from pybpf.btf.reader import BTF
from pybpf.errors import BTFError

Bpftool = Callable[[Path], subprocess.CompletedProcess[str]]

INT = Int("int", 4, IntEncoding.SIGNED, 32)
LONG = Int("long", 8, IntEncoding.SIGNED, 64)
CHAR = Int("char", 1, IntEncoding.SIGNED | IntEncoding.CHAR, 8)
UINT = Int("unsigned int", 4, IntEncoding.NONE, 32)


def _m(name: str, tid: int, byte_off: int = 0, bits: int = 0, bit_off: int | None = None) -> Member:
    return Member(name, tid, byte_off * 8 if bit_off is None else bit_off, bits)


def check(types: list[Type], tmp_path: Path, bpftool: Bpftool) -> str:
    """Dump ``types`` with pybpf and bpftool; they must agree. Returns pybpf's text."""
    blob = raw_btf(types)
    path = tmp_path / "types.btf"
    path.write_bytes(blob)
    ref = bpftool(path)
    assert ref.returncode == 0, ref.stderr
    mine = dump_c(BTF.from_bytes(blob), kfuncs=False)
    assert mine == ref.stdout, f"pybpf:\n{mine}\nbpftool:\n{ref.stdout}"
    return mine


# Ids: 1 int, 2 long, 3 char, 4 unsigned int, then per-test types from 5.
BASE: list[Type] = [INT, LONG, CHAR, UINT]


def test_duplicate_names_get_suffixes(tmp_path: Path, bpftool: Bpftool, clang: str) -> None:
    types = [
        *BASE,
        Struct("dup", 4, (_m("a", 1),)),  # 5
        Struct("dup", 8, (_m("b", 2),)),  # 6
        Union("dup", 8, (_m("c", 2),)),  # 7
        Fwd("dup"),  # 8: forward declarations never count
        Typedef("dup_t", 5),  # 9
        Typedef("dup_t", 6),  # 10
        Enum("color", 4, False, (EnumValue("RED", 0), EnumValue("dup_t", 1))),  # 11
        Enum("color", 4, False, (EnumValue("RED", 5), EnumValue("BLUE", 6))),  # 12
        Struct(
            "user",
            40,
            (
                _m("x", 9),
                _m("y", 10, 8),
                _m("z", 7, 16),
                _m("f", 14, 24),  # points at the forward declaration
                _m("e", 11, 32),
                _m("e2", 12, 36),
            ),
        ),  # 13
        Ptr(8),  # 14
    ]
    text = check(types, tmp_path, bpftool)
    assert "struct dup___2 {" in text and "union dup___3 {" in text
    assert "typedef struct dup___2 dup_t___2;" in text
    assert "enum color___2 {" in text and "RED___2 = 5," in text
    assert "dup_t___3 = 1," in text  # enumerators share the typedef namespace
    assert "struct dup *f;" in text
    syntax_check(clang, text, "struct user u;\n", tmp_path)


def test_forward_declaration_breaks_pointer_cycle(
    tmp_path: Path, bpftool: Bpftool, clang: str
) -> None:
    types = [
        *BASE,
        # struct a { struct b *b; }; struct b { struct a a; struct b *self; };
        Struct("a", 8, (_m("b", 7),)),  # 5
        Struct("b", 16, (_m("a", 5), _m("self", 8, 8))),  # 6
        Ptr(6),  # 7
        Ptr(6),  # 8
    ]
    text = check(types, tmp_path, bpftool)
    assert text.index("struct b;\n") < text.index("struct a {") < text.index("struct b {")
    syntax_check(clang, text, "struct b x;\n", tmp_path)


def test_embedding_cycle_is_an_error(tmp_path: Path, bpftool: Bpftool) -> None:
    types = [*BASE, Struct("a", 4, (_m("b", 6),)), Struct("b", 4, (_m("a", 5),))]
    blob = raw_btf(types)
    (tmp_path / "loop.btf").write_bytes(blob)
    assert bpftool(tmp_path / "loop.btf").returncode != 0
    with pytest.raises(BTFError, match="cycle"):
        dump_c(BTF.from_bytes(blob))


def test_anonymous_enums(tmp_path: Path, bpftool: Bpftool, clang: str) -> None:
    types = [
        *BASE,
        # 5: unreferenced, so a top-level definition (global constants)
        Enum("", 4, False, (EnumValue("TOP_A", 1), EnumValue("TOP_B", 0xFFFFFFFF))),
        Enum("", 4, True, (EnumValue("IN_A", -1), EnumValue("IN_B", 2))),  # 6
        Typedef("in_t", 6),  # 7
        Enum("", 4, True, (EnumValue("MEM_A", -2147483648),)),  # 8
        Struct("holder", 8, (_m("e", 8), _m("t", 7, 4))),  # 9
        Enum("empty", 4, False, ()),  # 10: forward-declared enum
    ]
    text = check(types, tmp_path, bpftool)
    assert "enum {\n\tTOP_A = 1,\n\tTOP_B = 4294967295,\n};" in text
    assert "typedef enum {\n\tIN_A = -1,\n\tIN_B = 2,\n} in_t;" in text
    assert "\tenum {\n\t\tMEM_A = -2147483648,\n\t} e;" in text
    assert "enum empty;" in text
    syntax_check(clang, text, "struct holder h;\n", tmp_path)


def test_enum64_and_sizes(tmp_path: Path, bpftool: Bpftool, clang: str) -> None:
    types = [
        *BASE,
        Enum64("big_u", 8, False, (EnumValue("BU_A", 0xFEDCBA9876543210), EnumValue("BU_B", 1))),
        Enum64("big_s", 8, True, (EnumValue("BS_A", -(1 << 40)), EnumValue("BS_B", 7))),
        Enum64("small64", 8, False, (EnumValue("S64", 3),)),
        Enum("byte_enum", 1, False, (EnumValue("BYTE_A", 200),)),
        Struct("user", 25, (_m("u", 5), _m("s", 6, 8), _m("m", 7, 16), _m("b", 8, 24))),
    ]
    text = check(types, tmp_path, bpftool)
    assert "BU_A = 18364758544493064720ULL," in text
    assert "BS_A = -1099511627776LL," in text
    syntax_check(clang, text, "enum big_u x = BU_A;\n", tmp_path)


def test_declarators(tmp_path: Path, bpftool: Bpftool, clang: str) -> None:
    types = [
        *BASE,
        FuncProto(1, (Param("ctx", 16), Param("", 0))),  # 5: int (void *ctx, ...)
        Ptr(5),  # 6
        Typedef("cb_t", 6),  # 7
        Array(6, 1, 4),  # 8: array of 4 function pointers
        FuncProto(2, ()),  # 9: long (void), no params at all
        Ptr(9),  # 10
        FuncProto(10, (Param("x", 1),)),  # 11: returns a function pointer
        Ptr(11),  # 12
        Array(1, 1, 5),  # 13: int[5]
        Array(13, 1, 3),  # 14: int[3][5]
        Ptr(14),  # 15: int (*)[3][5]
        Ptr(0),  # 16: void *
        Const(1),  # 17
        Volatile(17),  # 18
        Ptr(18),  # 19
        Const(19),  # 20: const volatile int *const
        Restrict(22),  # 21
        Ptr(3),  # 22
        Const(13),  # 23: const int[5], the const is dropped
        TypeTag("user", 1),  # 24
        Ptr(24),  # 25
        Float("double", 8),  # 26
        FuncProto(0, (Param("", 0),)),  # 27: void (void)
        Ptr(27),  # 28
        Typedef("void_fn_t", 28),  # 29
        Struct(
            "decls",
            184,
            (
                _m("cb", 7),
                _m("table", 8, 8),
                _m("frf", 12, 40),
                _m("pa", 15, 48),
                _m("cvp", 20, 56),
                _m("rp", 21, 64),
                _m("carr", 23, 72),
                _m("tagged", 25, 96),
                _m("d", 26, 104),
                _m("vf", 29, 112),
                _m("m", 14, 120),
            ),
        ),
    ]
    text = check(types, tmp_path, bpftool)
    assert "typedef int (*cb_t)(void *ctx, ...);" in text
    assert "\tint (*table[4])(void *ctx, ...);" in text
    assert "\tlong (* (*frf)(int x))(void);" in text
    assert "\tint (*pa)[3][5];" in text
    assert "\tconst volatile int * const cvp;" in text
    assert "\tchar * restrict rp;" in text
    assert "\tint carr[5];" in text
    assert '\tint __attribute__((btf_type_tag("user"))) *tagged;' in text
    assert "typedef void (*void_fn_t)(void);" in text
    syntax_check(clang, text, "struct decls d;\n", tmp_path)


def test_padding_bitfields_and_packing(tmp_path: Path, bpftool: Bpftool, clang: str) -> None:
    types = [
        *BASE,
        Struct(
            "gaps",
            64,
            (
                _m("a", 3),
                _m("b", 2, 16),  # long at 16: needs an explicit marker
                _m("c", 4, bit_off=24 * 8 + 3, bits=5),  # bitfield after a gap
                _m("d", 4, bit_off=24 * 8 + 30, bits=20),  # spans the int boundary
                _m("e", 3, 40),
            ),
        ),
        Struct("packed", 13, (_m("c", 3), _m("l", 2, 1), _m("i", 1, 9))),  # 6
        Struct("only_pad", 16, ()),  # 7: padding only
        Struct("empty", 0, ()),  # 8
        Union("u", 8, (_m("x", 1), _m("y", 2), _m("b", 4, bits=3))),  # 9
        Struct("tail", 24, (_m("p", 6), _m("q", 3, 13))),  # 10: packed member, tail gap
        Struct(
            "user",
            144,
            (
                _m("g", 5),
                _m("p", 7, 64),
                _m("e", 8, 80),
                _m("u", 9, 80),
                _m("t", 10, 88),
                _m("z", 1, 140),
            ),
        ),
    ]
    text = check(types, tmp_path, bpftool)
    assert "} __attribute__((packed));" in text
    assert "struct empty {};" in text
    assert "struct only_pad {\n\tlong: 64;\n\tlong: 64;\n};" in text
    syntax_check(
        clang,
        text,
        '_Static_assert(sizeof(struct gaps) == 64, "gaps");\n'
        '_Static_assert(__builtin_offsetof(struct gaps, e) == 40, "e");\n'
        '_Static_assert(sizeof(struct packed) == 13, "packed");\n'
        '_Static_assert(sizeof(struct tail) == 24, "tail");\n'
        '_Static_assert(sizeof(struct user) == 144, "user");\n'
        '_Static_assert(__builtin_offsetof(struct user, z) == 140, "z");\n',
        tmp_path,
    )


def test_deep_nesting_caps_indent(tmp_path: Path, bpftool: Bpftool) -> None:
    types: list[Type] = [*BASE, Struct("", 4, (_m("leaf", 1),))]
    for _ in range(15):  # 15 more anonymous levels
        types.append(Struct("", 4, (_m("n", len(types)),)))
    types.append(Struct("deep", 4, (_m("n", len(types)),)))
    text = check(types, tmp_path, bpftool)
    assert "\n" + "\t" * 13 + "int leaf;" in text
    assert "\t" * 14 not in text


def test_compiler_builtins(tmp_path: Path, bpftool: Bpftool, clang: str) -> None:
    types = [
        *BASE,
        Typedef("__builtin_va_list", 9),  # 5: never redeclared
        Typedef("__gnuc_va_list", 0),  # 6: old GCC's bogus void typedef
        Int("__Poly8_t", 1, IntEncoding.NONE, 8),  # 7: needs an alias typedef
        Struct("va", 24, (_m("a", 5), _m("b", 10, 8), _m("p", 7, 16))),  # 8
        Ptr(0),  # 9
        Ptr(6),  # 10 (embedding a void typedef would crash bpftool: zero alignment)
    ]
    text = check(types, tmp_path, bpftool)
    assert "typedef __builtin_va_list __gnuc_va_list;" in text
    assert "typedef unsigned char __Poly8_t;" in text
    assert "typedef void *__builtin_va_list" not in text
    syntax_check(clang, text, "struct va v;\n", tmp_path)


def test_zero_alignment_member_does_not_crash() -> None:
    # A member whose type has no alignment (void typedef): bpftool 7.1 divides by
    # zero here; pybpf still writes the struct.
    types = [*BASE, Typedef("vt", 0), Struct("s", 8, (_m("c", 3), _m("v", 5, 4)))]
    text = dump_c(BTF.from_bytes(raw_btf(types)), kfuncs=False)
    assert "struct s {\n\tchar c;\n\tvt v;\n\tlong: 0;" not in text
    assert "\tvt v;\n" in text


def test_kfunc_block_from_decl_tags(tmp_path: Path, clang: str) -> None:
    types = [
        *BASE,
        Struct("thing", 8, (_m("v", 2),)),  # 5
        Ptr(5),  # 6
        FuncProto(6, (Param("t", 6), Param("flags", 4))),  # 7
        Func("zeta_acquire", 7, Linkage.GLOBAL),  # 8
        Func("alpha_peek", 7, Linkage.GLOBAL),  # 9
        Func("not_a_kfunc", 7, Linkage.GLOBAL),  # 10
        DeclTag("bpf_kfunc", 8),  # 11
        DeclTag("bpf_kfunc", 9),  # 12
        DeclTag("bpf_fastcall", 9),  # 13
        DeclTag("bpf_kfunc", 10, 0),  # 14: tags a parameter, not the function
        DeclTag("other", 10),  # 15
        TypeTag("address_space(1)", 1, attribute=True),  # 16
        Ptr(16),  # 17
        FuncProto(17, (Param("", 0),)),  # 18
        Func("arena_thing", 18, Linkage.GLOBAL),  # 19
        DeclTag("bpf_kfunc", 19),  # 20
    ]
    btf = BTF.from_bytes(raw_btf(types))
    assert kfunc_ids(btf) == [8, 9, 19]
    text = dump_c(btf)
    block = text[text.index("/* BPF kfuncs */") :]
    assert block.splitlines()[1:5] == [
        "#ifndef BPF_NO_KFUNC_PROTOTYPES",
        "extern __bpf_fastcall struct thing *alpha_peek(struct thing *t, unsigned int flags) __weak __ksym;",
        "extern int __attribute__((address_space(1))) *arena_thing(void) __weak __ksym;",
        "extern struct thing *zeta_acquire(struct thing *t, unsigned int flags) __weak __ksym;",
    ]
    assert "not_a_kfunc" not in text
    syntax_check(
        clang, text, "int f(struct thing *t) { return zeta_acquire(t, 0) != 0; }\n", tmp_path
    )


@pytest.mark.parametrize(
    ("types", "match"),
    [
        ([Ptr(99)], r"type \[1\] \(PTR\) refers to type \[99\]"),
        ([Struct("s", 4, (Member("a", 50, 0),))], r"type \[1\] \(STRUCT\) refers to type \[50\]"),
        ([FuncProto(77, ())], r"type \[77\]"),
        ([Typedef("t", 1)], "loop"),
        ([Const(2), Volatile(1)], "loop"),
        ([Array(1, 0, 3)], "loop"),
        ([Ptr(2), FuncProto(1, ())], "loop"),
        ([INT, Struct("huge", 0xFFFFFFF0, (_m("a", 1),))], "padding gap"),
    ],
)
def test_malformed_btf_raises_btf_error(types: list[Type], match: str) -> None:
    with pytest.raises(BTFError, match=match):
        dump_c(BTF.from_bytes(raw_btf(types)))


def test_split_btf_matches_bpftool(tmp_path: Path, bpftool: Bpftool) -> None:
    base_blob = raw_btf([*BASE, Struct("base_s", 8, (_m("l", 2),)), Ptr(5)])
    base = BTF.from_bytes(base_blob)
    # Split types continue the ids (7..) and the string offsets of the base.
    split_types: list[Type] = [
        Struct("mod_s", 24, (_m("b", 5), _m("p", 6, 8), _m("self", 8, 16))),  # 7
        Ptr(7),  # 8
        Typedef("base_s_t", 5),  # 9
    ]
    split_blob = raw_btf(split_types, base_strings_len=len(base.strings))
    (tmp_path / "base.btf").write_bytes(base_blob)
    (tmp_path / "split.btf").write_bytes(split_blob)
    base_path, split_path = str(tmp_path / "base.btf"), str(tmp_path / "split.btf")
    ref = subprocess.run(
        ["bpftool", "-B", base_path, "btf", "dump", "file", split_path, "format", "c"],
        capture_output=True,
        text=True,
    )
    assert ref.returncode == 0, ref.stderr
    text = dump_c(BTF.from_bytes(split_blob, base=base), kfuncs=False)
    assert text == ref.stdout
    assert "struct mod_s {" in text and "struct base_s {" in text

"""CO-RE relocation semantics on synthetic local/target BTF (libbpf's rules)."""

from __future__ import annotations

import pytest
from core_btf_builder import BTFBuilder

from pybpf.asm.insn import Instruction
from pybpf.btf import BTF
from pybpf.btf.core import (
    POISON_IMM,
    CoreResolver,
    CoreTarget,
    failed_relocation_at,
    poisoned_call_in_log,
)
from pybpf.btf.core.spec import essential_name, parse_spec
from pybpf.btf.ext import CoreRelo
from pybpf.btf.ext import CoreReloKind as K
from pybpf.errors import BTFError, CoreRelocationError

MOV64_K = 0xB7  # r = imm
MOV64_X = 0xBF  # r = r
LDX_W = 0x61
LDX_DW = 0x79
LDX_H = 0x69
STX_W = 0x63


def mov(imm: int, slot: int = 0) -> Instruction:
    return Instruction(MOV64_K, dst=1, imm=imm, slot=slot)


def relo(kind: K, type_id: int, access: str = "0", slot: int = 0) -> CoreRelo:
    return CoreRelo(slot * 8, type_id, access, kind)


def run(local: BTF, target: BTF | CoreTarget, relos, insns):  # type: ignore[no-untyped-def]
    return CoreResolver(local, target).relocate(relos, insns, program="p", section="s")


def one(local: BTF, target: BTF | CoreTarget, r: CoreRelo, insn: Instruction):  # type: ignore[no-untyped-def]
    out, res = run(local, target, [r], [insn])
    return out, res[0]


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "ess"),
    [
        ("task_struct___mine", "task_struct"),
        ("task_struct", "task_struct"),
        ("a___b___c", "a___b"),
        ("foo____bar", "foo____bar"),  # X___Y needs non-underscore X and Y
        ("x___", "x___"),
        ("___x", "___x"),
        ("ab___1", "ab"),
    ],
)
def test_essential_name(name: str, ess: str) -> None:
    assert essential_name(name) == ess


# ----------------------------------------------------------------------------- fields


def two_layouts() -> tuple[BTF, BTF, int]:
    lb = BTFBuilder()
    i = lb.int("int", 4, signed=True)
    s = lb.struct("s___v1", 8, [("a", i, 0), ("b", i, 32)])
    tb = BTFBuilder()
    ti = tb.int("int", 4, signed=True)
    lg = tb.int("long", 8, signed=True)
    tb.struct("s", 16, [("x", lg, 0), ("b", ti, 64), ("a", ti, 96)])
    return lb.build(), tb.build("vmlinux"), s


def test_field_offset_through_flavor_alu_and_ldx() -> None:
    local, target, s = two_layouts()
    insns = [mov(4, 0), Instruction(LDX_W, dst=2, src=1, off=4, slot=1)]
    out, res = run(
        local,
        target,
        [relo(K.FIELD_BYTE_OFFSET, s, "0:1", 0), relo(K.FIELD_BYTE_OFFSET, s, "0:1", 1)],
        insns,
    )
    assert out[0].imm == 8 and out[1].off == 8
    assert [r.new_value for r in res] == [8, 8]
    assert res[0].access == "s___v1.b"
    assert res[0].local_spec == "<byte_off> [2] struct s___v1.b (0:1 @ offset 4)"
    assert res[0].target_spec == "<byte_off> [3] struct s.b (0:1 @ offset 8)"
    assert res[0].target_btf_name == "vmlinux" and res[0].target_type_id == 3


def test_field_exists_size_signed() -> None:
    local, target, s = two_layouts()
    out, _ = run(
        local,
        target,
        [
            relo(K.FIELD_EXISTS, s, "0:0", 0),
            relo(K.FIELD_BYTE_SIZE, s, "0:0", 1),
            relo(K.FIELD_SIGNED, s, "0:0", 2),
        ],
        [mov(1, 0), mov(4, 1), mov(1, 2)],
    )
    assert [i.imm for i in out] == [1, 4, 1]


def test_anonymous_members_are_searched() -> None:
    lb = BTFBuilder()
    li = lb.int("unsigned int", 4)
    ls = lb.struct("outer", 4, [("deep", li, 0)])
    tb = BTFBuilder()
    ti = tb.int("unsigned int", 4)
    inner = tb.struct("", 8, [("pad", ti, 0), ("deep", ti, 32)])
    anon_u = tb.struct("", 8, [("other", ti, 0), ("", inner, 0)], union=True)
    tb.struct("outer", 24, [("first", ti, 0), ("", anon_u, 64)])
    out, r = one(lb.build(), tb.build(), relo(K.FIELD_BYTE_OFFSET, ls, "0:0"), mov(0))
    assert out[0].imm == 12  # 8 (anon union) + 4 (deep inside the anon struct)
    assert "0:1:1:1" in (r.target_spec or "")


def test_array_index_and_bounds() -> None:
    lb = BTFBuilder()
    i = lb.int("int", 4, signed=True)
    arr = lb.array(i, 4)
    ls = lb.struct("a", 16, [("v", arr, 0)])
    tb = BTFBuilder()
    ti = tb.int("int", 4, signed=True)
    big = tb.array(ti, 8)
    tb.struct("a", 48, [("pad", big, 0), ("v", big, 128)])
    target = tb.build()
    out, r = one(lb.build(), target, relo(K.FIELD_BYTE_OFFSET, ls, "0:0:2"), mov(8))
    assert out[0].imm == 16 + 8 and r.local_spec.endswith(".v[2] (0:0:2 @ offset 8)")

    small = BTFBuilder()
    si = small.int("int", 4, signed=True)
    sa = small.array(si, 2)
    small.struct("a", 8, [("v", sa, 0)])
    lb2 = BTFBuilder()
    i2 = lb2.int("int", 4, signed=True)
    ls2 = lb2.struct("a", 16, [("v", lb2.array(i2, 4), 0)])
    out, r = one(lb2.build(), small.build(), relo(K.FIELD_BYTE_OFFSET, ls2, "0:0:3"), mov(12))
    assert r.poisoned and out[0].imm == POISON_IMM and out[0].is_call


def bitfield_btfs(bit_off: int, bits: int, *, signed: bool = False) -> tuple[BTF, BTF, int]:
    lb = BTFBuilder()
    lu = lb.int("unsigned int", 4)
    ls = lb.struct("bf", 8, [("x", lu, 0), ("f", lu, 32, 3)])
    tb = BTFBuilder()
    tu = tb.int("int" if signed else "unsigned int", 4, signed=signed)
    tb.struct("bf", 16, [("x", tu, 0), ("f", tu, bit_off, bits)])
    return lb.build(), tb.build(), ls


@pytest.mark.parametrize(
    ("bit_off", "bits", "byte_off", "byte_sz", "lshift", "rshift"),
    [
        (37, 3, 4, 4, 56, 61),  # inside the second u32
        (30, 4, 0, 8, 30, 60),  # straddles two u32: widened to a u64 load
        (64, 1, 8, 4, 63, 63),
    ],
)
def test_bitfield_values(
    bit_off: int, bits: int, byte_off: int, byte_sz: int, lshift: int, rshift: int
) -> None:
    local, target, ls = bitfield_btfs(bit_off, bits)
    kinds = [K.FIELD_BYTE_OFFSET, K.FIELD_BYTE_SIZE, K.FIELD_LSHIFT_U64, K.FIELD_RSHIFT_U64]
    # Local values as libbpf computes them: f at bit 32, 3 bits, in a u32.
    local_vals = [4, 4, 64 - 3, 64 - 3]
    insns = [mov(v, n) for n, v in enumerate(local_vals)]
    out, _ = run(local, target, [relo(k, ls, "0:1", n) for n, k in enumerate(kinds)], insns)
    assert [i.imm for i in out] == [byte_off, byte_sz, lshift, rshift]


def test_bitfield_signedness_and_no_validation_of_compiler_offsets() -> None:
    local, target, ls = bitfield_btfs(37, 3, signed=True)
    # clang may pick a different (wider) container than libbpf: offsets are not validated.
    out, _ = run(
        local,
        target,
        [relo(K.FIELD_BYTE_OFFSET, ls, "0:1", 0), relo(K.FIELD_SIGNED, ls, "0:1", 1)],
        [mov(0, 0), mov(0, 1)],
    )
    assert [i.imm for i in out] == [4, 1]


def test_missing_field_exists_zero_and_read_poisoned() -> None:
    lb = BTFBuilder()
    i = lb.int("int", 4)
    ls = lb.struct("t___future", 4, [("nope", i, 0)])
    tb = BTFBuilder()
    ti = tb.int("int", 4)
    tb.struct("t", 4, [("yes", ti, 0)])
    local, target = lb.build(), tb.build()
    ld = Instruction(LDX_W, dst=0, src=1, off=0, slot=1)
    out, res = run(
        local,
        target,
        [relo(K.FIELD_EXISTS, ls, "0:0", 0), relo(K.FIELD_BYTE_OFFSET, ls, "0:0", 1)],
        [mov(1, 0), ld],
    )
    assert out[0].imm == 0 and not res[0].poisoned
    assert out[1].is_call and out[1].imm == POISON_IMM and out[1].slot == 1
    assert res[1].poisoned and res[1].reason == "field not found in kernel BTF"
    assert failed_relocation_at(res, 1) is res[1]
    msg = res[1].failure_message("p", "x.bpf.c:12")
    assert msg.startswith(
        "CO-RE relocation #1 (t___future.nope) failed: field not found in kernel BTF"
    )


def test_missing_type_reason() -> None:
    lb = BTFBuilder()
    i = lb.int("int", 4)
    ls = lb.struct("absent_everywhere", 4, [("a", i, 0)])
    tb = BTFBuilder()
    tb.int("int", 4)
    _, r = one(lb.build(), tb.build(), relo(K.FIELD_BYTE_OFFSET, ls, "0:0"), mov(0))
    assert r.poisoned and r.reason == "type not found in kernel BTF"


def test_ld_imm64_poison_takes_both_slots() -> None:
    lb = BTFBuilder()
    e = lb.enum("e___x", [("GONE___x", 3)])
    tb = BTFBuilder()
    tb.enum("e", [("OTHER", 1)])
    insns = [
        Instruction.ld_imm64(
            1,
            3,
        ),
        Instruction(0x95, slot=2),
    ]
    out, res = run(lb.build(), tb.build(), [relo(K.ENUMVAL_VALUE, e, "0", 0)], insns)
    assert [(i.opcode, i.imm, i.slot) for i in out[:2]] == [
        (0x85, POISON_IMM, 0),
        (0x85, POISON_IMM, 1),
    ]
    assert (
        out[2].is_exit
        and res[0].slots == 2
        and res[0].reason == "enum value not found in kernel BTF"
    )
    assert failed_relocation_at(res, 1) is res[0]


# ----------------------------------------------------------------------------- ambiguity


def test_ambiguous_candidates_error_unless_they_agree() -> None:
    lb = BTFBuilder()
    i = lb.int("int", 4)
    ls = lb.struct("s", 4, [("a", i, 0)])
    local = lb.build()
    tb = BTFBuilder()
    ti = tb.int("int", 4)
    tb.struct("s___a", 8, [("a", ti, 0)])
    tb.struct("s___b", 8, [("z", ti, 0), ("a", ti, 32)])
    with pytest.raises(
        CoreRelocationError, match=r"program 'p'.*relocation #0 at insn #0: field offset ambiguity"
    ):
        one(local, tb.build(), relo(K.FIELD_BYTE_OFFSET, ls, "0:0"), mov(0))
    agree = BTFBuilder()
    ai = agree.int("int", 4)
    agree.struct("s___a", 8, [("a", ai, 32)])
    agree.struct("s___b", 8, [("a", ai, 32), ("q", ai, 0)])
    out, r = one(local, agree.build(), relo(K.FIELD_BYTE_OFFSET, ls, "0:0"), mov(0))
    assert out[0].imm == 4 and r.target_type_id == 2


def test_candidate_cache_is_pruned_to_matches() -> None:
    lb = BTFBuilder()
    i = lb.int("int", 4)
    ls = lb.struct("s", 8, [("a", i, 0), ("b", i, 32)])
    tb = BTFBuilder()
    ti = tb.int("int", 4)
    tb.struct("s___old", 4, [("a", ti, 0)])
    tb.struct("s___new", 8, [("b", ti, 0), ("a", ti, 32)])
    resolver = CoreResolver(lb.build(), tb.build())
    # 'b' only exists in s___new: the cache keeps only it, so 'a' then resolves to 4.
    out, _ = resolver.relocate(
        [relo(K.FIELD_BYTE_OFFSET, ls, "0:1", 0), relo(K.FIELD_BYTE_OFFSET, ls, "0:0", 1)],
        [mov(4, 0), mov(0, 1)],
    )
    assert [x.imm for x in out] == [0, 4]


# ----------------------------------------------------------------------------- types


def type_btfs() -> tuple[BTF, BTF, dict[str, int]]:
    lb = BTFBuilder()
    i = lb.int("int", 4, signed=True)
    ids = {
        "t": lb.struct("t___x", 4, [("a", i, 0)]),
        "missing": lb.struct("nowhere", 4, [("a", i, 0)]),
        "extra": lb.struct("t___y", 8, [("a", i, 0), ("zz", i, 32)]),
        "int": i,
    }
    tb = BTFBuilder()
    ti = tb.int("int", 4, signed=True)
    tb.int("long", 8, signed=True)
    tb.struct("t", 16, [("b", ti, 0), ("a", ti, 32)])
    return lb.build(), tb.build(), ids


def test_type_relocations() -> None:
    local, target, ids = type_btfs()
    t = ids["t"]
    insns = [
        mov(1, 0),
        mov(4, 1),
        Instruction.ld_imm64(1, t).replace(slot=2),
        mov(1, 4),
        mov(1, 5),
        Instruction.ld_imm64(1, t).replace(slot=6),
    ]
    relos = [
        relo(K.TYPE_EXISTS, t, "0", 0),
        relo(K.TYPE_SIZE, t, "0", 1),
        relo(K.TYPE_ID_TARGET, t, "0", 2),
        relo(K.TYPE_EXISTS, ids["missing"], "0", 4),
        relo(K.TYPE_MATCHES, t, "0", 5),
        relo(K.TYPE_ID_LOCAL, t, "0", 6),
    ]
    out, res = run(local, target, relos, insns)
    assert [x.imm64 if x.is_ld_imm64 else x.imm for x in out] == [1, 16, 3, 0, 1, t]
    assert res[2].target_type_id == 3 and not any(r.poisoned for r in res)


def test_type_matches_requires_every_local_member() -> None:
    local, target, ids = type_btfs()
    _, r = one(local, target, relo(K.TYPE_MATCHES, ids["extra"], "0"), mov(1))
    assert r.new_value == 0
    _, r = one(local, target, relo(K.TYPE_EXISTS, ids["extra"], "0"), mov(1))
    assert r.new_value == 1  # existence only needs a compatible kind


def test_type_id_target_in_module_split_btf() -> None:
    vb = BTFBuilder()
    vi = vb.int("int", 4)
    vmlinux = vb.build("vmlinux")
    mb = BTFBuilder(vmlinux)
    mod_t = mb.struct("mod_only", 4, [("a", vi, 0)])
    module = mb.build("mymod")
    lb = BTFBuilder()
    li = lb.int("int", 4)
    lt = lb.struct("mod_only", 4, [("a", li, 0)])
    target = CoreTarget(vmlinux, [("mymod", module)])
    out, r = one(lb.build(), target, relo(K.TYPE_ID_TARGET, lt, "0"), Instruction.ld_imm64(1, lt))
    assert out[0].imm64 == mod_t == 2 and r.target_btf_name == "mymod"


def test_modules_not_searched_when_vmlinux_has_candidates() -> None:
    vb = BTFBuilder()
    vi = vb.int("int", 4)
    vb.struct("both", 4, [("x", vi, 0)])
    vmlinux = vb.build()
    mb = BTFBuilder(vmlinux)
    mb.struct("both", 8, [("x", vi, 0), ("a", vi, 32)])
    loaded: list[int] = []

    def mods():  # type: ignore[no-untyped-def]
        loaded.append(1)
        return [("m", mb.build("m"))]

    lb = BTFBuilder()
    li = lb.int("int", 4)
    ls = lb.struct("both", 8, [("a", li, 0)])
    _, r = one(lb.build(), CoreTarget(vmlinux, mods), relo(K.FIELD_BYTE_OFFSET, ls, "0:0"), mov(0))
    assert r.poisoned and not loaded  # 'a' only in the module, but vmlinux had a candidate


# ----------------------------------------------------------------------------- enums


def test_enum_values_enum_and_enum64_both_ways() -> None:
    lb = BTFBuilder()
    e32 = lb.enum("color___mine", [("RED___mine", 77), ("BLUE___mine", 78)])
    e64 = lb.enum64("big___mine", [("HUGE___mine", 5)])
    neg = lb.enum("sgn___mine", [("MINUS___mine", 1)], signed=True)
    tb = BTFBuilder()
    tb.enum64("color", [("BLUE", 1 << 40), ("RED", 2)])
    tb.enum("big", [("HUGE", 9)])
    tb.enum("sgn", [("MINUS", -5 & 0xFFFFFFFF)], signed=True)
    relos = [
        relo(K.ENUMVAL_VALUE, e32, "1", 0),
        relo(K.ENUMVAL_VALUE, e32, "0", 2),
        relo(K.ENUMVAL_VALUE, e64, "0", 4),
        relo(K.ENUMVAL_EXISTS, e64, "0", 6),
        relo(K.ENUMVAL_VALUE, neg, "0", 8),
    ]
    insns = [
        Instruction.ld_imm64(1, v).replace(slot=2 * n) for n, v in enumerate([78, 77, 5, 1, 1])
    ]
    out, res = run(lb.build(), tb.build(), relos, insns)
    assert [i.imm64 for i in out] == [1 << 40, 2, 9, 1, (1 << 64) - 5]
    assert res[0].local_spec == "<enumval_value> [1] enum color___mine::BLUE___mine = 78"
    assert res[0].access == "color___mine::BLUE___mine"


def test_enumval_exists_missing() -> None:
    lb = BTFBuilder()
    e = lb.enum("color", [("MAUVE", 1)])
    tb = BTFBuilder()
    tb.enum("color", [("RED", 1)])
    out, r = one(lb.build(), tb.build(), relo(K.ENUMVAL_EXISTS, e, "0"), mov(1))
    assert out[0].imm == 0 and not r.poisoned


# ----------------------------------------------------------------------------- patching


def size_btfs(local_signed: bool, target_signed: bool) -> tuple[BTF, BTF, int]:
    lb = BTFBuilder()
    l64 = lb.int("long", 8, signed=local_signed)
    ls = lb.struct("sz", 16, [("pad", l64, 0), ("v", l64, 64)])
    tb = BTFBuilder()
    t32 = tb.int("int", 4, signed=target_signed)
    tb.struct("sz", 8, [("v", t32, 0), ("pad", t32, 32)])
    return lb.build(), tb.build(), ls


def test_load_size_shrinks_for_unsigned() -> None:
    local, target, ls = size_btfs(False, False)
    out, r = one(
        local,
        target,
        relo(K.FIELD_BYTE_OFFSET, ls, "0:1"),
        Instruction(LDX_DW, dst=0, src=1, off=8),
    )
    assert out[0].opcode == LDX_W and out[0].off == 0 and "mem_sz 8 -> 4" in r.change


def test_load_size_change_of_signed_int_is_poisoned() -> None:
    local, target, ls = size_btfs(True, True)
    out, r = one(
        local,
        target,
        relo(K.FIELD_BYTE_OFFSET, ls, "0:1"),
        Instruction(LDX_DW, dst=0, src=1, off=8),
    )
    assert r.poisoned and out[0].imm == POISON_IMM and "size" in (r.reason or "")


def test_sanity_checks() -> None:
    local, target, s = two_layouts()
    r = relo(K.FIELD_BYTE_OFFSET, s, "0:1")
    with pytest.raises(CoreRelocationError, match=r"unexpected ALU/ALU64 value: got 5, expected 4"):
        one(local, target, r, mov(5))
    with pytest.raises(CoreRelocationError, match="register operand"):
        one(local, target, r, Instruction(MOV64_X, dst=1, src=2))
    with pytest.raises(CoreRelocationError, match="unexpected LDX/ST/STX offset"):
        one(local, target, r, Instruction(LDX_W, off=2))
    with pytest.raises(CoreRelocationError, match="cannot relocate instruction"):
        one(local, target, r, Instruction(0x95))
    with pytest.raises(CoreRelocationError, match="not at an instruction"):
        run(local, target, [CoreRelo(4, s, "0:1", K.FIELD_BYTE_OFFSET)], [mov(4)])


def test_offset_must_fit_s16() -> None:
    lb = BTFBuilder()
    i = lb.int("int", 4)
    ls = lb.struct("far", 8, [("a", i, 0)])
    tb = BTFBuilder()
    ti = tb.int("int", 4)
    pad = tb.array(ti, 10000)
    tb.struct("far", 40004, [("pad", pad, 0), ("a", ti, 320000)])
    with pytest.raises(CoreRelocationError, match="does not fit in 16 bits"):
        one(lb.build(), tb.build(), relo(K.FIELD_BYTE_OFFSET, ls, "0:0"), Instruction(STX_W, off=0))


def test_bad_access_strings() -> None:
    local, target, s = two_layouts()
    for access in ("", ":1", "0:9", "0:x"):
        with pytest.raises(CoreRelocationError, match="access string"):
            one(local, target, relo(K.FIELD_BYTE_OFFSET, s, access), mov(0))
    with pytest.raises(BTFError, match="unknown type id 999"):
        parse_spec(local, 999, "0", K.TYPE_EXISTS)
    with pytest.raises(CoreRelocationError, match="unknown type id 999"):
        one(local, target, relo(K.TYPE_EXISTS, 999, "0"), mov(1))


def test_verifier_log_names_the_failed_relocation() -> None:
    lb = BTFBuilder()
    i = lb.int("int", 4)
    ls = lb.struct("t___future", 4, [("nope", i, 0)])
    tb = BTFBuilder()
    tb.struct("t", 4, [("yes", tb.int("int", 4), 0)])
    insns = [Instruction(0x85, imm=35, slot=0), Instruction(LDX_W, src=0, dst=1, slot=1)]
    _, res = run(lb.build(), tb.build(), [relo(K.FIELD_BYTE_OFFSET, ls, "0:0", 1)], insns)
    # The kernel's wording (verified on 6.18) for a reachable poisoned instruction:
    log = (
        "0: R1=ctx() R10=fp0\n"
        "0: (85) call bpf_get_current_task#35          ; R0=scalar()\n"
        "1: (85) call unknown#195896080\n"
        "invalid func unknown#195896080\n"
        "processed 2 insns (limit 1000000)\n"
    )
    found = poisoned_call_in_log(log, res)
    assert found is res[0]
    assert found.failure_message("prog") == (
        "CO-RE relocation #0 (t___future.nope) failed: field not found in kernel BTF "
        "(program 'prog', insn #1)"
    )
    assert poisoned_call_in_log("R1 invalid mem access 'scalar'\n", res) is None

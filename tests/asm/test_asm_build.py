"""The builder without the kernel: layout, labels, sizes from BTF fields, mistakes reported."""

from __future__ import annotations

import pytest

from pybpf.asm import assemble, disassemble
from pybpf.asm.build import (
    FP,
    R0,
    R1,
    R2,
    add32,
    call,
    call_local,
    ctx,
    exit_,
    jeq,
    jump,
    label,
    ld_imm64,
    load,
    mov,
    resolve,
    sdiv,
    store,
)


def test_layout_labels_and_text() -> None:
    built = resolve(
        [
            mov(R0, 0),
            ld_imm64(R1, 0x1122334455667788),
            jeq(R1, R2, "out"),
            add32(R0, -1),
            sdiv(R0, R2),
            call_local("fn"),
            jump("out"),
            label("fn"),
            call("ktime_get_ns"),
            exit_(),
            label("out"),
            exit_(),
        ]
    )
    assert [i.slot for i in built.insns] == [0, 1, 3, 4, 5, 6, 7, 8, 9, 10]
    jeq_insn = built.insns[2]
    assert jeq_insn.off == 10 - 3 - 1
    assert built.insns[5].is_pseudo_call and built.insns[5].imm == 8 - 6 - 1
    assert built.insns[7].is_helper_call and built.insns[7].imm == 5  # bpf_ktime_get_ns
    text = disassemble(built.insns)
    assert "r1 = 0x1122334455667788 ll" in text
    assert "if r1 == r2 goto +0x6" in text
    assert "w0 += -0x1" in text and "r0 s/= r2" in text
    assert assemble(text) == built.code
    # every instruction remembers this file and its line
    assert {f for f, _ in built.origins.values()} == {__file__}
    assert len(set(built.origins.values())) == len(built.insns)


def test_ctx_fields_from_kernel_btf(kernel: None) -> None:
    data, end = ctx("xdp_md", "data"), ctx("xdp_md", "data_end")
    assert (data.offset, data.size, end.offset, end.size) == (0, 4, 4, 4)
    assert ctx("__sk_buff", "len").offset == 0
    protocol = ctx("__sk_buff", "protocol")
    insn = load(R0, R1, protocol).insn
    assert (insn.off, insn.opcode) == (protocol.offset, 0x61)  # u32 load, size from BTF
    with pytest.raises(ValueError, match="no member 'nope'"):
        ctx("xdp_md", "nope")
    # attribute style, nested members and unions
    assert ctx.xdp_md.data_end == end
    assert ctx.__sk_buff.len.offset == 0
    nested = ctx.bpf_sock_tuple.ipv4.dport
    assert (nested.offset, nested.size) == (10, 2)  # union member, then struct member
    assert ctx("bpf_sock_tuple", "ipv4.dport") == nested
    with pytest.raises(ValueError, match="has no struct 'no_such_struct'"):
        _ = ctx.no_such_struct.x


def test_mistakes() -> None:
    with pytest.raises(ValueError, match=r"test_asm_build\.py:\d+: no label 'missing'"):
        resolve([jump("missing"), exit_()])
    with pytest.raises(ValueError, match="defined twice"):
        resolve([label("a"), label("a"), exit_()])
    with pytest.raises(ValueError, match="does not fit in 32 bits"):
        mov(R0, 1 << 40)
    with pytest.raises(ValueError, match="no BPF helper named 'nonsense'"):
        call("nonsense")
    with pytest.raises(TypeError, match="must be a Reg"):
        mov(0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="access size 3"):
        store(FP, -8, R1, size=3)


def test_jit_disassembly_both_architectures() -> None:
    from pybpf.kernel.jit import disassemble_jited

    x86 = disassemble_jited(bytes.fromhex("55 4889e5 31c0 c9 c3"), machine="x86_64")
    assert [i.text for i in x86] == ["push rbp", "mov rbp, rsp", "xor eax, eax", "leave", "ret"]
    arm = disassemble_jited(bytes.fromhex("fd7bbfa9 000080d2 c0035fd6"), machine="aarch64")
    assert [i.text.split()[0] for i in arm] == ["stp", "mov", "ret"]
    assert [i.address for i in arm] == [0, 4, 8]

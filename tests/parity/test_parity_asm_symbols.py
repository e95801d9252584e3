"""Symbols referenced only from inline asm (``r0 = SYM ll``): kept on the instruction,
patched by the user before load; an unpatched one is a clear error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import pybpf
from pybpf.asm.insn import Instruction
from pybpf.elf.relocs import RelocKind
from pybpf.errors import RelocationError

PKT = bytes(64)


def test_open_keeps_the_reference(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_asm_symbols"))
    spec = obj.spec.programs["asm_const"]
    assert [(r.kind, r.target) for r in spec.relocations] == [
        (RelocKind.SYMBOL, "PYBPF_MAGIC"),
        (RelocKind.SYMBOL, "PYBPF_MAGIC"),
    ]
    refs = [i for i in obj.programs["asm_const"].instructions if i.reference]
    assert [(i.is_ld_imm64, i.reference) for i in refs] == [(True, "PYBPF_MAGIC")] * 2
    assert not obj.spec.externs  # neither an extern nor a global


@pytest.mark.usefixtures("kernel")
def test_unpatched_symbol_fails_naming_symbol_and_program(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_asm_symbols"))
    obj.programs["asm_const"].resolve_symbol("PYBPF_MAGIC", 1)
    with pytest.raises(RelocationError) as exc:
        obj.load()
    obj.close()
    msg = str(exc.value)
    assert "'PYBPF_OTHER'" in msg and exc.value.program == "asm_other"
    assert "resolve_symbol" in msg


@pytest.mark.usefixtures("kernel")
def test_patched_symbols_load_and_run(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_asm_symbols"))
    assert obj.programs["asm_const"].resolve_symbol("PYBPF_MAGIC", 0x1234) == 2
    # the other by hand, as with cilium's ProgramSpec.Instructions
    insns = obj.programs["asm_other"].instructions
    i = next(n for n, ins in enumerate(insns) if ins.reference == "PYBPF_OTHER")
    insns[i] = Instruction.ld_imm64(insns[i].dst, 0x5A)
    with obj.load():
        assert obj.programs["asm_const"].test_run(PKT).retval == 0x2468
        assert obj.programs["asm_other"].test_run(PKT).retval == 0x5A
        assert obj.programs["plain_pass"].test_run(PKT).retval == 1


@pytest.mark.usefixtures("kernel")
def test_autoload_off_skips_the_symbol(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_asm_symbols"))
    obj.programs["asm_const"].autoload = False
    obj.programs["asm_other"].autoload = False
    with obj.load():
        assert obj.programs["plain_pass"].loaded


def test_size_changing_edit_is_refused(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_asm_symbols"))
    insns = obj.programs["asm_other"].instructions
    insns.insert(0, Instruction(0xB7))  # r0 = 0: one slot more
    with pytest.raises(RelocationError, match="only in-place edits"):
        obj.load()
    obj.close()


def test_libbpf_refuses_at_open(libbpf_load: Callable[..., str], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """libbpf (1.1 and current) wants a BTF VAR/FUNC for every undefined symbol."""
    assert libbpf_load("-o", bpf_obj("parity_asm_symbols")).startswith("ERR")

"""Just enough instruction encoding for the kernel layer's own probe programs."""

from __future__ import annotations

import struct

__all__ = ["call", "exit_", "insn", "ld_map_fd", "mov64_imm", "program"]

_INSN = struct.Struct("<BBhi")


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One raw 8-byte instruction."""
    return _INSN.pack(code, (src << 4) | dst, off, imm)


def mov64_imm(dst: int, imm: int) -> bytes:
    """``dst = imm`` (BPF_ALU64 | BPF_MOV | BPF_K)."""
    return insn(0xB7, dst, imm=imm)


def call(helper: int) -> bytes:
    """``call helper`` (BPF_JMP | BPF_CALL)."""
    return insn(0x85, imm=helper)


def exit_() -> bytes:
    """``exit`` (BPF_JMP | BPF_EXIT)."""
    return insn(0x95)


def ld_map_fd(dst: int, fd: int) -> bytes:
    """``dst = map[fd]``: the two-slot BPF_LD | BPF_DW | BPF_IMM with BPF_PSEUDO_MAP_FD."""
    return insn(0x18, dst, 1, imm=fd) + insn(0)


def program(*insns: bytes) -> bytes:
    """Concatenate instructions into program bytes."""
    return b"".join(insns)

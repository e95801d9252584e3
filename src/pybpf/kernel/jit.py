"""Disassemble JIT-compiled BPF programs (x86-64, arm64) with capstone (``pybpf[jit]``)."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

from pybpf.errors import NotSupportedError

__all__ = [
    "JitFunction",
    "JitInsn",
    "disassemble_jited",
    "have_capstone",
    "jited_functions",
    "jited_line_addresses",
]


@dataclass(frozen=True, slots=True)
class JitInsn:
    """One machine instruction: its address, bytes and ``mnemonic operands`` text."""

    address: int
    raw: bytes
    text: str


def have_capstone() -> bool:
    """True when the optional capstone disassembler is importable."""
    import importlib.util

    return importlib.util.find_spec("capstone") is not None


def disassemble_jited(
    code: bytes, *, address: int = 0, machine: str | None = None
) -> list[JitInsn]:
    """Machine instructions of ``code`` loaded at ``address`` (native arch by default).

    >>> [i.text for i in disassemble_jited(bytes.fromhex("31c0c3"), machine="x86_64")]
    ['xor eax, eax', 'ret']
    """
    import importlib

    try:
        capstone: Any = importlib.import_module("capstone")
    except ImportError as exc:
        raise NotSupportedError(
            "JIT disassembly", "install the optional extra: pip install 'pybpf[jit]' (capstone)"
        ) from exc
    arch = machine or platform.machine()
    if arch in ("x86_64", "amd64"):
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    elif arch in ("aarch64", "arm64"):
        arm64 = getattr(capstone, "CS_ARCH_ARM64", None) or capstone.CS_ARCH_AARCH64
        md = capstone.Cs(arm64, capstone.CS_MODE_ARM)
    else:
        raise NotSupportedError(f"JIT disassembly for {arch}", "x86-64 and arm64 are supported")
    out: list[JitInsn] = []
    end = address
    for i in md.disasm(code, address):
        out.append(JitInsn(i.address, bytes(i.bytes), f"{i.mnemonic} {i.op_str}".strip()))
        end = i.address + i.size
    if end - address < len(code):  # capstone stops at undecodable bytes: keep them visible
        rest = code[end - address :]
        out.append(JitInsn(end, rest, f"(bad) {rest[:8].hex(' ')}"))
    return out


@dataclass(frozen=True, slots=True)
class JitFunction:
    """One JIT-compiled function of a program: kernel address, offset in the image, code."""

    address: int
    offset: int
    code: bytes


def jited_functions(fd: Any) -> list[JitFunction]:
    """The program's JIT image split into its functions (main program, then subprograms)."""
    import ctypes

    from pybpf.sys.info import prog_info_ints, prog_jited_insns

    code = prog_jited_insns(fd)
    ksyms = prog_info_ints(fd, "nr_jited_ksyms", "jited_ksyms", ctypes.c_uint64)
    lens = prog_info_ints(fd, "nr_jited_func_lens", "jited_func_lens", ctypes.c_uint32)
    if not ksyms or len(ksyms) != len(lens):
        return [JitFunction(0, 0, code)] if code else []
    out, off = [], 0
    for address, n in zip(ksyms, lens, strict=True):
        out.append(JitFunction(address, off, code[off : off + n]))
        off += n
    return out


def jited_line_addresses(fd: Any) -> list[int]:
    """Kernel address of each line_info record's first machine instruction."""
    import ctypes

    from pybpf.sys.info import prog_info_ints

    return prog_info_ints(
        fd, "nr_jited_line_info", "jited_line_info", ctypes.c_uint64, "jited_line_info_rec_size"
    )

"""Fixed-width integer reinterpretation shared by the pure parsers (BTF, instructions)."""

from __future__ import annotations

__all__ = ["s32"]


def s32(value: int) -> int:
    """The low 32 bits of ``value`` read as a signed (two's-complement) int."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value

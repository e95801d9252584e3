"""The v4 test program runs in the real kernel and computes what the ISA says it must."""

from __future__ import annotations

import struct

import pytest

import pybpf

MASK64 = (1 << 64) - 1


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _cmod(a: int, b: int) -> int:
    return a - b * _cdiv(a, b)


def _sext(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _bswap(v: int, nbytes: int) -> int:
    return int.from_bytes((v & ((1 << (8 * nbytes)) - 1)).to_bytes(nbytes, "little"), "big")


def _jmp32(x: int) -> int:
    if x > 10:
        return 1
    if x < -10:
        return 2
    if (x & 0xFFFFFFFF) >= 5:
        return 3
    return 4 if x & 4 else 5


def _atomics(v: int) -> dict[str, int]:
    counter, c32 = 0, 0
    counter = (counter + v) & MASK64
    c32 = _sext(c32 + v, 32)
    counter |= 0x10
    counter &= ~1 & MASK64
    counter ^= 0x100
    out = {"fetch_add_res": counter}
    counter = (counter + v) & MASK64
    out["fetch_or_res"] = counter
    counter |= 0x20
    out["fetch_and_res"] = counter
    counter &= ~2 & MASK64
    out["fetch_xor_res"] = counter
    counter ^= 0x200
    out["fetch_add32_res"] = c32
    c32 = _sext(c32 + 3, 32)
    out["xchg_res"] = counter
    counter = v & MASK64
    out["xchg32_res"] = c32
    c32 = _sext(v, 32)
    out["cmpxchg_res"] = counter
    counter = (v + 1) & MASK64
    out["cmpxchg32_res"] = c32
    c32 = 7
    out = {k: _sext(val, 32 if "32" in k else 64) for k, val in out.items()}
    out["counter"], out["counter32"] = _sext(counter, 64), c32
    return out


@pytest.mark.parametrize(
    ("a", "b", "c", "d"),
    [
        (-123456789012, -7, -37, 5),
        (0x1234_5678_9ABC_DEF0, 10, 7, -3),
        (987654321, 3, 2, 0),
        (-1, 2, 12, 1),
    ],
)
def test_insn_v4_in_kernel(bpf_obj, kernel, a: int, b: int, c: int, d: int) -> None:  # type: ignore[no-untyped-def]
    sc, ss, si = -100, -20000, -2_000_000_000
    ctx = struct.pack("<qqiibxhi", a, b, c, d, sc, ss, si)
    with pybpf.load(bpf_obj("insn_v4")) as obj:
        obj.globals["counter"] = 0
        obj.globals["counter32"] = 0
        assert (
            obj.programs["insn_v4"].test_run(ctx=ctx, ctx_size_out=0).retval == 0
        )  # syscall: no ctx_out
        g = obj.globals
        if b != 0:
            assert g["sdiv_res"] == _cdiv(a, b)
        if b != 1:
            assert g["smod_res"] == _cmod(a, b - 1)
        if d != 0:
            assert g["sdiv32_res"] == _cdiv(c, d)
        if d != 1:
            assert g["smod32_res"] == _cmod(c, d - 1)
        assert g["movsx8_res"] == _sext(a, 8)
        assert g["movsx16_res"] == _sext(a, 16)
        assert g["movsx32_res"] == _sext(a, 32)
        assert g["ldsx8_res"] == sc - 5  # args->sc + g_sc
        assert g["ldsx16_res"] == ss - 300
        assert g["ldsx32_res"] == si - 70000
        assert g["bswap16_res"] == _bswap(a, 2)
        assert g["bswap32_res"] == _bswap(a, 4)
        assert g["bswap64_res"] == _bswap(a, 8)
        assert g["jmp32_res"] == _jmp32(c)
        for name, value in _atomics(b).items():
            assert g[name] == value, name

"""Hand-assembled counting programs, for attach tests that need no loader.

Each program adds 1 to slot 0 of an ARRAY map, optionally only when the current
process (tgid) is a given pid; the map is read back from Python.
"""

from __future__ import annotations

import struct

from pybpf.sys import maps, progs
from pybpf.sys.fd import FD
from pybpf.uapi.enums import AttachType, MapType, ProgType

_INSN = struct.Struct("<BBhi")

FUNC_MAP_LOOKUP_ELEM = 1
FUNC_GET_CURRENT_PID_TGID = 14


def _i(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return _INSN.pack(code, (src << 4) | dst, off, imm)


def counter_insns(map_fd: int, pid: int | None = None) -> bytes:
    """``if (pid && tgid != pid) return 0; counts[0] += 1; return 0;``"""
    body = b""
    if pid is not None:
        body += _i(0x85, imm=FUNC_GET_CURRENT_PID_TGID)  # call get_current_pid_tgid
        body += _i(0x77, 0, imm=32)  # r0 >>= 32
        body += _i(0x55, 0, off=7 + 2, imm=pid)  # if r0 != pid goto exit
    body += _i(0x18, 1, 1, imm=map_fd) + _i(0)  # r1 = map (2 slots)
    body += _i(0xBF, 2, 10)  # r2 = r10
    body += _i(0x07, 2, imm=-4)  # r2 += -4
    body += _i(0x62, 10, off=-4, imm=0)  # *(u32 *)(r10 - 4) = 0
    body += _i(0x85, imm=FUNC_MAP_LOOKUP_ELEM)  # call map_lookup_elem
    body += _i(0x15, 0, off=2, imm=0)  # if r0 == 0 goto exit
    body += _i(0xB7, 1, imm=1)  # r1 = 1
    body += _i(0xDB, 0, 1, off=0, imm=0)  # lock *(u64 *)(r0 + 0) += r1
    body += _i(0xB7, 0, imm=0) + _i(0x95)  # r0 = 0; exit
    return body


class Counter:
    """An ARRAY map with one u64 and a program of ``prog_type`` counting into it."""

    def __init__(
        self,
        prog_type: ProgType,
        pid: int | None = None,
        name: str = "lt_cnt",
        expected_attach_type: AttachType | int = 0,
    ) -> None:
        self.map: FD = maps.map_create(MapType.ARRAY, 4, 8, 1, name="counts")
        self.prog: FD = progs.prog_load(
            prog_type,
            counter_insns(self.map.fileno(), pid),
            name=name,
            expected_attach_type=expected_attach_type,
        )
        self.name = name

    @property
    def fd(self) -> int:
        return self.prog.fileno()

    def value(self) -> int:
        raw = maps.map_lookup_elem(self.map, b"\0\0\0\0", 8)
        assert raw is not None
        return int.from_bytes(raw, "little")

    def close(self) -> None:
        self.prog.close()
        self.map.close()

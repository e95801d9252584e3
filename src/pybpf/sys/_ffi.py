"""The one private FFI module: libc via ctypes, syscall numbers, buffer helpers."""

from __future__ import annotations

import ctypes
import os
from typing import Any

__all__ = ["NR_BPF", "NR_PERF_EVENT_OPEN", "addr", "c_buffer", "cstr", "libc"]

# (bpf, perf_event_open) syscall numbers per machine, from the kernel's syscall tables.
_SYSCALLS: dict[str, tuple[int, int]] = {
    "x86_64": (321, 298),
    "aarch64": (280, 241),
    "arm64": (280, 241),
    "riscv64": (280, 241),
    "loongarch64": (280, 241),
    "ppc64le": (361, 319),
    "s390x": (351, 331),
}


def _numbers() -> tuple[int, int]:
    machine = os.uname().machine  # (platform.machine(), without importing platform)
    try:
        return _SYSCALLS[machine]
    except KeyError as exc:
        raise OSError(f"pybpf does not know the bpf(2) syscall number on {machine!r}") from exc


NR_BPF, NR_PERF_EVENT_OPEN = _numbers()

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.ioctl.restype = ctypes.c_int


def addr(obj: Any) -> int:
    """Address of a ctypes object (0 for None), for the u64 pointer fields of attrs."""
    if obj is None:
        return 0
    return ctypes.addressof(obj)


def c_buffer(data: bytes | bytearray | memoryview) -> ctypes.Array[ctypes.c_char]:
    """A private, writable C copy of ``data`` that lives as long as the returned object."""
    raw = bytes(data)
    return ctypes.create_string_buffer(raw, len(raw)) if raw else ctypes.create_string_buffer(1)


def cstr(text: str | bytes) -> ctypes.Array[ctypes.c_char]:
    """A NUL-terminated C string."""
    raw = text.encode() if isinstance(text, str) else text
    return ctypes.create_string_buffer(raw)

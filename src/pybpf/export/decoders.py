"""Label decoders: turn a map key's field (as decoded from BTF) into a label value.

A label's decoders run in order, each on the previous one's output; the first
one gets the field's Python value (``int``, ``bytes`` for ``char[]``, a list for
other arrays). A decoder returning None drops the series (regexp allow-lists,
static maps without ``allow_unknown``). Results are cached per raw value.

Example: ``build_chain([DecoderSpec("syscall", where)])(59) == "execve"``
"""

from __future__ import annotations

import bisect
import errno
import ipaddress
import os
import platform
import re
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pybpf.export.config import DecoderSpec

__all__ = ["Decoder", "build_chain", "default_decoder"]

Decoder = Callable[[Any], str | None]


def _as_bytes(v: Any) -> bytes:
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    if isinstance(v, list | tuple):
        return bytes(int(x) & 0xFF for x in v)
    if isinstance(v, str):
        return v.encode()
    raise TypeError(f"expected bytes, got {type(v).__name__}")


def _as_int(v: Any) -> int:
    if isinstance(v, bytes | bytearray):
        return int.from_bytes(v, "little")
    return int(v)


def default_decoder(v: Any) -> str:
    """A label value without decoders: numbers as decimal, char arrays as text."""
    if isinstance(v, bytes | bytearray):
        return bytes(v).split(b"\0", 1)[0].decode("utf-8", "replace")
    if isinstance(v, list | tuple):
        return ",".join(str(x) for x in v)
    return str(int(v)) if isinstance(v, int) else str(v)


def _string(v: Any) -> str:
    return _as_bytes(v).split(b"\0", 1)[0].decode("utf-8", "replace")


def _uint(v: Any) -> str:
    return str(_as_int(v))


def _hex(v: Any) -> str:
    if isinstance(v, int):
        return hex(v)
    return _as_bytes(v).hex()


def _errno(v: Any) -> str:
    n = abs(_as_int(v))
    return errno.errorcode.get(n, str(n))


class _Syscalls:
    table: dict[int, str] | None = None

    @classmethod
    def name(cls, v: Any) -> str:
        if cls.table is None:
            if platform.machine() == "x86_64":
                from pybpf.export.syscalls import X86_64

                cls.table = X86_64
            else:
                cls.table = {}  # numbers only on other architectures
        n = _as_int(v)
        return cls.table.get(n, str(n))


class _Ksyms:
    """Kernel text symbols by address (``/proc/kallsyms``), loaded on first use."""

    addrs: list[int] | None = None
    names: ClassVar[list[str]] = []

    @classmethod
    def name(cls, v: Any) -> str:
        if cls.addrs is None:
            pairs: list[tuple[int, str]] = []
            with open("/proc/kallsyms") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 3 and parts[1] in "tTwW":
                        addr = int(parts[0], 16)
                        if addr:
                            pairs.append((addr, parts[2]))
            pairs.sort()
            cls.addrs = [a for a, _ in pairs]
            cls.names = [n for _, n in pairs]
        addr = _as_int(v)
        i = bisect.bisect_right(cls.addrs, addr) - 1
        return cls.names[i] if i >= 0 and addr else f"{addr:#x}"


class _Cgroups:
    """cgroup id (the cgroup2 directory's inode) → path, rescanned on a miss (at most
    once a second)."""

    paths: ClassVar[dict[int, str]] = {}
    scanned = 0.0

    @staticmethod
    def root() -> str | None:
        try:
            with open("/proc/self/mounts") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) > 2 and parts[2] == "cgroup2":
                        return parts[1]
        except OSError:
            pass
        return None

    @classmethod
    def scan(cls) -> None:
        cls.scanned = time.monotonic()
        root = cls.root()
        if root is None:
            return
        paths: dict[int, str] = {}
        for dirpath, _dirs, _files in os.walk(root):
            try:
                ino = os.stat(dirpath).st_ino
            except OSError:
                continue
            rel = os.path.relpath(dirpath, root)
            paths[ino] = "/" if rel == "." else "/" + rel
        cls.paths = paths

    @classmethod
    def path(cls, v: Any) -> str:
        cid = _as_int(v)
        p = cls.paths.get(cid)
        if p is None and time.monotonic() - cls.scanned > 1.0:
            cls.scan()
            p = cls.paths.get(cid)
        return p if p is not None else str(cid)


def _inet(v: Any) -> str:
    if isinstance(v, int):
        # a __be32 read as a host (little-endian) integer: its bytes are in network order
        return str(ipaddress.IPv4Address(v.to_bytes(4, "little")))
    raw = _as_bytes(v)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    if len(raw) == 16:
        a6 = ipaddress.IPv6Address(raw)
        return str(a6.ipv4_mapped) if a6.ipv4_mapped is not None else str(a6)
    raise ValueError(f"an inet address is 4 or 16 bytes, got {len(raw)}")


def _majorminor(v: Any) -> str:
    dev = _as_int(v)
    major, minor = dev >> 20, dev & 0xFFFFF
    try:
        for line in Path(f"/sys/dev/block/{major}:{minor}/uevent").read_text().splitlines():
            if line.startswith("DEVNAME="):
                return line[8:]
    except OSError:
        pass
    return f"{major}:{minor}"


def _ifname(v: Any) -> str:
    idx = _as_int(v)
    try:
        return socket.if_indextoname(idx)
    except OSError:
        return str(idx)


_SIMPLE: dict[str, Decoder] = {
    "string": _string,
    "uint": _uint,
    "hex": _hex,
    "errno": _errno,
    "syscall": _Syscalls.name,
    "ksym": _Ksyms.name,
    "cgroup": _Cgroups.path,
    "inet": _inet,
    "majorminor": _majorminor,
    "ifname": _ifname,
}


def _one(spec: DecoderSpec) -> Decoder:
    if spec.name in _SIMPLE:
        return _SIMPLE[spec.name]
    if spec.name == "static_map":
        table, keep = spec.static_map, spec.allow_unknown

        def static_map(v: Any) -> str | None:
            s = v if isinstance(v, str) else default_decoder(v)
            out = table.get(s)
            if out is None:
                return s if keep else None
            return out

        return static_map
    if spec.name == "regexp":
        rx = re.compile("|".join(f"(?:{r})" for r in spec.regexps))

        def regexp(v: Any) -> str | None:
            s = v if isinstance(v, str) else default_decoder(v)
            return s if rx.search(s) else None

        return regexp
    raise spec.where.error(f"unknown decoder {spec.name!r}")


def build_chain(specs: Sequence[DecoderSpec]) -> Decoder:
    """One callable applying ``specs`` in order (None: drop the series)."""
    steps = [_one(s) for s in specs] or [default_decoder]

    def chain(v: Any) -> str | None:
        for step in steps:
            v = step(v)
            if v is None:
                return None
        return str(v)

    return chain

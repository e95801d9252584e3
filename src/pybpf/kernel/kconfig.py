"""``.kconfig`` externs: kernel config options and libbpf's ``LINUX_*`` virtual values.

The parsers are pure functions over text; :func:`read_kernel_config` reads
``/proc/config.gz`` (or ``/boot/config-$(uname -r)``). :func:`fill_kconfig`
encodes every extern's value into the bytes of the ``.kconfig`` map the way
libbpf does: y/n/m into bool or ``enum libbpf_tristate``, numbers into integers
of the declared size and signedness, strings into NUL-padded char arrays (a longer string is truncated and
NUL-terminated, as libbpf does).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pybpf._dataclass import dataclass
from pybpf.btf.types import Array, Enum, Enum64, Int, IntEncoding
from pybpf.errors import ExternError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = [
    "CONFIG_PATHS",
    "KconfigExtern",
    "KconfigValue",
    "fill_kconfig",
    "kernel_version",
    "kernel_version_code",
    "parse_kconfig",
    "read_kernel_config",
]

CONFIG_PATHS = ("/proc/config.gz", "/boot/config-{release}")
TRI_NO, TRI_YES, TRI_MODULE = 0, 1, 2

KconfigValue = str
"""A raw config value as written in the file: ``y``, ``m``, ``250``, ``0x10``, ``"text"``."""


class KconfigExtern(Protocol):
    """What a ``.kconfig`` extern must provide (``pybpf.elf.externs.ExternSpec`` does)."""

    @property
    def name(self) -> str: ...
    @property
    def type_id(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def is_weak(self) -> bool: ...


# --------------------------------------------------------------------------- parsing


def parse_kconfig(text: str, *, source: str = "kernel config") -> dict[str, KconfigValue]:
    """``CONFIG_X=value`` lines of a kernel .config into {name: raw value}.

    Comments (``# CONFIG_X is not set``) and blank lines are skipped; a ``CONFIG_``
    line without ``=`` or without a value is an error, as in libbpf.
    """
    out: dict[str, KconfigValue] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.rstrip("\r")
        if not line.startswith("CONFIG_"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise ExternError(f"{source}:{lineno}: no '=' in {line!r}")
        if not value:
            raise ExternError(f"{source}:{lineno}: no value for {name}")
        out.setdefault(name, value)
    return out


def read_kernel_config(
    paths: Iterable[str] = CONFIG_PATHS, *, release: str | None = None
) -> dict[str, KconfigValue]:
    """The running kernel's config from the first readable of ``paths``.

    ``{release}`` in a path is the kernel release (``uname -r``). ExternError when
    none is readable.
    """
    release = release or os.uname().release
    tried = []
    for pattern in paths:
        path = Path(pattern.format(release=release))
        try:
            raw = path.read_bytes()
        except OSError as exc:
            tried.append(f"{path} ({exc.strerror})")
            continue
        if path.suffix == ".gz":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise ExternError(f"{path}: not a valid gzip file ({exc})") from exc
        return parse_kconfig(raw.decode("utf-8", "replace"), source=str(path))
    raise ExternError(
        "cannot read the kernel config for .kconfig externs: tried " + ", ".join(tried)
    )


def kernel_version_code(major: int, minor: int, patch: int) -> int:
    """``KERNEL_VERSION(a, b, c)``; the patch level saturates at 255."""
    return (major << 16) + (minor << 8) + min(patch, 255)


_VER = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def kernel_version(
    release: str | None = None,
    version: str | None = None,
    ubuntu_signature: str | None = None,
) -> int:
    """``LINUX_KERNEL_VERSION`` as libbpf computes it, 0 when unknown.

    Ubuntu: the last field of ``/proc/version_signature``; Debian: the
    ``Debian a.b.c`` part of ``uname -v``; otherwise ``uname -r``. Arguments
    default to the running system's values.
    """
    if ubuntu_signature is None:
        try:
            ubuntu_signature = Path("/proc/version_signature").read_text()
        except OSError:
            ubuntu_signature = ""
    parts = ubuntu_signature.split()
    if len(parts) >= 3:
        m = _VER.match(parts[2])
        if m:
            return kernel_version_code(*(int(x) for x in m.groups()))
    uts = os.uname()
    release = uts.release if release is None else release
    version = uts.version if version is None else version
    at = version.find("Debian ")
    if at >= 0:
        m = _VER.match(version, at + len("Debian "))
        if m:
            return kernel_version_code(*(int(x) for x in m.groups()))
    m = _VER.match(release)
    if m:
        return kernel_version_code(*(int(x) for x in m.groups()))
    return 0


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True, slots=True)
class _Slot:
    """How an extern's bytes are interpreted: bool/tristate/char/int/char array."""

    kind: str  # "bool" | "tristate" | "char" | "int" | "char_arr"
    size: int
    signed: bool


def _slot(btf: BTF, ext: KconfigExtern) -> _Slot:
    tid = btf.resolve(ext.type_id)
    t = btf.type(tid)
    if isinstance(t, Int):
        if t.encoding & IntEncoding.BOOL:
            if t.size == 1:
                return _Slot("bool", 1, False)
        elif t.size == 1:
            return _Slot("char", 1, t.signed)
        elif t.size in (2, 4, 8):
            return _Slot("int", t.size, t.signed)
    elif isinstance(t, Enum | Enum64) and t.name == "libbpf_tristate":
        if isinstance(t, Enum64) or t.size == 4:
            return _Slot("tristate", t.size, False)
    elif isinstance(t, Array) and t.nelems > 0:
        el = btf.type(btf.resolve(t.type))
        if isinstance(el, Int) and el.size == 1 and not el.encoding & IntEncoding.BOOL:
            return _Slot("char_arr", t.nelems, False)
    raise ExternError(
        f"kconfig extern {ext.name!r} has unsupported type {btf.type_name(ext.type_id)!r} "
        "(use an integer, bool, char, char array or enum libbpf_tristate)"
    )


def _put_int(buf: bytearray, ext: KconfigExtern, slot: _Slot, value: int, text: str) -> None:
    """Store ``value`` (taken modulo 2**64, as libbpf holds it in a u64) with libbpf's checks."""
    v = value & ((1 << 64) - 1)
    bits = slot.size * 8
    if slot.kind == "bool" and v > 1:
        raise ExternError(f"kconfig extern {ext.name!r}: value {text!r} is not a boolean")
    if slot.size < 8:
        # libbpf's range check on the u64: a signed slot takes values whose u64 plus
        # 2**(bits-1) wraps below 2**bits, an unsigned one values with no high bits.
        half = 1 << (bits - 1)
        ok = (v + half) % (1 << 64) < (1 << bits) if slot.signed else v >> bits == 0
        if not ok:
            raise ExternError(
                f"kconfig extern {ext.name!r}: value {text!r} does not fit in {slot.size} bytes"
            )
    buf[ext.offset : ext.offset + slot.size] = (v & ((1 << bits) - 1)).to_bytes(slot.size, "little")


_STRTOULL = re.compile(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def _parse_number(ext: KconfigExtern, text: str) -> int:
    """``text`` as C's ``strtoull(text, &end, 0)`` reads it, the whole text consumed.

    Leading blanks and a sign are allowed, ``0x`` is hex and a leading ``0`` octal;
    a ``-`` negates modulo 2**64; values past 2**64-1 are out of range (ERANGE).
    """
    m = _STRTOULL.fullmatch(text)
    if m is None:
        raise ExternError(f"kconfig extern {ext.name!r}: value {text!r} is not a valid integer")
    sign, body = m.groups()
    if body[:2] in ("0x", "0X"):
        v = int(body[2:], 16)
    else:
        v = int(body, 8 if body.startswith("0") else 10)
    if v >= 1 << 64:
        raise ExternError(f"kconfig extern {ext.name!r}: value {text!r} is out of range")
    return -v if sign == "-" else v


def _encode(buf: bytearray, btf: BTF, ext: KconfigExtern, value: str | int) -> None:
    slot = _slot(btf, ext)
    if ext.offset < 0 or ext.offset + slot.size > len(buf):
        raise ExternError(
            f"kconfig extern {ext.name!r} at offset {ext.offset} (+{slot.size}) is outside "
            f"the .kconfig map of {len(buf)} bytes"
        )
    if isinstance(value, int):
        if slot.kind not in ("int", "char", "bool"):
            raise ExternError(f"kconfig extern {ext.name!r}: a number needs an integer type")
        _put_int(buf, ext, slot, value, str(value))
        return
    first = value[:1]
    if first in ("y", "n", "m"):
        if slot.kind == "bool":
            if first == "m":
                raise ExternError(
                    f"kconfig extern {ext.name!r}: value 'm' needs enum libbpf_tristate, not bool"
                )
            buf[ext.offset] = 1 if first == "y" else 0
        elif slot.kind == "tristate":
            tri = {"y": TRI_YES, "m": TRI_MODULE, "n": TRI_NO}[first]
            buf[ext.offset : ext.offset + slot.size] = tri.to_bytes(slot.size, "little")
        elif slot.kind == "char":
            buf[ext.offset] = ord(first)
        else:
            raise ExternError(
                f"kconfig extern {ext.name!r}: value {value!r} needs a bool, tristate or char type"
            )
        return
    if first == '"':
        if slot.kind != "char_arr":
            raise ExternError(f"kconfig extern {ext.name!r}: string {value} needs a char array")
        if len(value) < 2 or not value.endswith('"'):
            raise ExternError(f"kconfig extern {ext.name!r}: invalid string value {value}")
        # a longer string is cut to the array size less one, NUL-terminated (libbpf warns)
        data = value[1:-1].encode()[: slot.size - 1]
        buf[ext.offset : ext.offset + slot.size] = data.ljust(slot.size, b"\0")
        return
    if slot.kind not in ("int", "char"):
        raise ExternError(
            f"kconfig extern {ext.name!r}: value {value!r} needs an integer type, "
            f"not {btf.type_name(ext.type_id)!r}"
        )
    _put_int(buf, ext, slot, _parse_number(ext, value), value)


def fill_kconfig(
    btf: BTF,
    externs: Iterable[KconfigExtern],
    size: int,
    *,
    config: Mapping[str, KconfigValue] | None = None,
    kernel_version: int | None = None,
    has_bpf_cookie: bool = False,
    has_syscall_wrapper: bool = False,
) -> bytes:
    """The ``.kconfig`` map contents (``size`` bytes) for ``externs`` of object ``btf``.

    ``config`` defaults to the running kernel's (read only if a ``CONFIG_`` extern
    needs it). ``LINUX_KERNEL_VERSION`` defaults to :func:`kernel_version`; the two
    feature flags come from the caller's probes. Unknown weak externs stay zero;
    unknown strong ones raise ExternError naming the extern.
    """
    buf = bytearray(size)
    exts = list(externs)
    for ext in exts:
        name = ext.name
        if name.startswith("CONFIG_"):
            if config is None:
                config = read_kernel_config()
            raw = config.get(name)
            if raw is None:
                if not ext.is_weak:
                    raise ExternError(
                        f"kconfig extern {name!r} (strong) is not set in the kernel config; "
                        "declare it __weak to default to zero"
                    )
                continue
            _encode(buf, btf, ext, raw)
        elif name == "LINUX_KERNEL_VERSION":
            kv = _kernel_version_default() if kernel_version is None else kernel_version
            if not kv:
                raise ExternError(f"kconfig extern {name!r}: cannot determine the kernel version")
            _encode(buf, btf, ext, kv)
        elif name == "LINUX_HAS_BPF_COOKIE":
            _encode(buf, btf, ext, int(has_bpf_cookie))
        elif name == "LINUX_HAS_SYSCALL_WRAPPER":
            _encode(buf, btf, ext, int(has_syscall_wrapper))
        elif not (name.startswith("LINUX_") and ext.is_weak):
            raise ExternError(
                f"kconfig extern {name!r}: unrecognized (only CONFIG_* options and "
                "LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER exist)"
            )
    return bytes(buf)


def _kernel_version_default() -> int:
    return kernel_version()

"""Where a uprobe goes: binary paths (``libc`` by name) and symbol -> file offset.

uprobes take a file offset, while symbols hold virtual addresses; the PT_LOAD
segment containing the address maps one to the other, which works alike for
executables, PIE executables and shared libraries.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from pybpf._dataclass import dataclass
from pybpf.errors import AttachError

__all__ = [
    "SymbolMatch",
    "find_symbols",
    "parse_target",
    "resolve_binary",
    "symbol_offset",
    "vaddr_to_offset",
]

_LIB_DIRS = (
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
)
_STT_FUNC, _STT_GNU_IFUNC = "STT_FUNC", "STT_LOOS"  # pyelftools names IFUNC STT_LOOS


def parse_target(spec: str) -> tuple[str, str | None, int]:
    """``"path:func+0x10"`` / ``"path:0x1234"`` -> ``(path, func or None, offset)``."""
    binary, sep, where = spec.rpartition(":")
    if not sep or not binary or not where:
        raise AttachError(
            f"parse uprobe target {spec!r}",
            errno.EINVAL,
            "expected <binary>:<function>[+<offset>] or <binary>:<offset>",
        )
    try:
        return binary, None, int(where, 0)
    except ValueError:
        pass
    func, _, off = where.partition("+")
    try:
        return binary, func, int(off, 0) if off else 0
    except ValueError as exc:
        raise AttachError(
            f"parse uprobe target {spec!r}", errno.EINVAL, f"bad offset {off!r}"
        ) from exc


def _maps_libraries(pid: int) -> list[str]:
    try:
        text = Path(f"/proc/{pid if pid >= 0 else 'self'}/maps").read_text()
    except OSError:
        return []
    out: list[str] = []
    for line in text.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/") and parts[5] not in out:
            out.append(parts[5])
    return out


@functools.cache
def _ldconfig() -> dict[str, str]:
    exe = shutil.which("ldconfig") or (
        "/sbin/ldconfig" if os.path.exists("/sbin/ldconfig") else None
    )
    if exe is None:
        return {}
    try:
        text = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)", line)
        if m and m.group(1) not in out and ("x86-64" in m.group(2) or "64" in m.group(2)):
            out[m.group(1)] = m.group(3)
    return out


def resolve_binary(name: str, *, pid: int = -1) -> str:
    """An absolute path for ``name``: a path as is, a library by name, else via $PATH.

    ``libc`` and ``libc.so.6`` resolve to the C library (first the one mapped in
    ``pid``/this process, then ``ldconfig -p``, then the standard directories).
    """
    if "/" in name:
        path = Path(name)
        if not path.is_file():
            raise AttachError(f"find uprobe binary {name}", errno.ENOENT, "no such file")
        return str(path.resolve())
    lib = name if ".so" in name else (f"{name}.so.6" if name == "libc" else f"{name}.so")
    is_lib = ".so" in name or name.startswith("lib")
    if is_lib:
        stem = lib.split(".so")[0] + ".so"
        for mapped in _maps_libraries(pid):
            base = os.path.basename(mapped)
            if base == lib or base.startswith(stem):
                return mapped
        found = _ldconfig().get(lib)
        if found:
            return str(Path(found).resolve())
        for d in _LIB_DIRS:
            cand = Path(d) / lib
            if cand.is_file():
                return str(cand.resolve())
    exe = shutil.which(name)
    if exe:
        return str(Path(exe).resolve())
    raise AttachError(
        f"find uprobe binary {name!r}",
        errno.ENOENT,
        "not a path, a library known to ldconfig, nor a program on $PATH",
        hint="pass an absolute path",
    )


@dataclass(frozen=True)
class SymbolMatch:
    """A function symbol found in an ELF file."""

    name: str
    vaddr: int
    size: int
    offset: int  # file offset (what uprobes take)
    binding: str
    table: str  # ".symtab" or ".dynsym"


def vaddr_to_offset(elf: object, vaddr: int) -> int | None:
    """File offset of virtual address ``vaddr`` through the PT_LOAD that contains it."""
    for seg in elf.iter_segments():  # type: ignore[attr-defined]
        if seg["p_type"] != "PT_LOAD":
            continue
        start, size = seg["p_vaddr"], seg["p_memsz"]
        if start <= vaddr < start + size:
            return int(vaddr - start + seg["p_offset"])
    return None


def find_symbols(path: str, symbol: str) -> list[SymbolMatch]:
    """Defined function symbols named ``symbol`` (or ``symbol@VERSION``) in ``path``."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    out: list[SymbolMatch] = []
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            for table in (".symtab", ".dynsym"):
                sec = elf.get_section_by_name(table)
                if not isinstance(sec, SymbolTableSection):
                    continue
                for sym in sec.iter_symbols():
                    name = sym.name.split("@", 1)[0]
                    if name != symbol or sym["st_shndx"] == "SHN_UNDEF" or not sym["st_value"]:
                        continue
                    if sym["st_info"]["type"] not in (_STT_FUNC, _STT_GNU_IFUNC):
                        continue
                    off = vaddr_to_offset(elf, sym["st_value"])
                    if off is None:
                        continue
                    out.append(
                        SymbolMatch(
                            symbol,
                            sym["st_value"],
                            sym["st_size"],
                            off,
                            sym["st_info"]["bind"],
                            table,
                        )
                    )
                if out:
                    break  # .symtab found it; .dynsym is only the fallback
    except (OSError, ELFError) as exc:
        raise AttachError(
            f"read ELF {path}", getattr(exc, "errno", None) or errno.ENOEXEC, str(exc)
        ) from exc
    return out


def symbol_offset(path: str, symbol: str) -> int:
    """File offset of function ``symbol`` in ``path`` (``.symtab`` first, then ``.dynsym``)."""
    matches = find_symbols(path, symbol)
    if not matches:
        raise AttachError(
            f"find function {symbol!r} in {path}",
            errno.ENOENT,
            "no defined function of that name in .symtab or .dynsym",
            hint="is the binary stripped, or is the name C++-mangled?",
        )
    offsets = {m.offset for m in matches}
    if len(offsets) > 1:
        globals_ = {m.offset for m in matches if m.binding in ("STB_GLOBAL", "STB_WEAK")}
        if len(globals_) == 1:
            return globals_.pop()
        raise AttachError(
            f"find function {symbol!r} in {path}",
            errno.EINVAL,
            f"ambiguous: {len(offsets)} definitions at offsets "
            + ", ".join(hex(o) for o in sorted(offsets)),
            hint="attach by offset instead",
        )
    return offsets.pop()

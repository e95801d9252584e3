"""uprobes and uretprobes (single and multi) on user-space binaries and libraries.

A uprobe is a perf event at a file offset of a binary: made by the ``uprobe`` perf
PMU where it exists, else by an entry in tracefs ``uprobe_events`` that pybpf names
for this process and removes on close. uprobe.multi uses BPF_LINK_CREATE.
"""

from __future__ import annotations

import errno
import fnmatch
import os
from collections.abc import Sequence

from pybpf.errors import AttachError, KernelError, NotSupportedError
from pybpf.link.base import FDLink, PerfEventLink
from pybpf.link.kprobe import pmu_type
from pybpf.link.perf_event import attach_perf_event_fd, open_tracefs_probe
from pybpf.link.uprobe_resolve import parse_target, resolve_binary, symbol_offset
from pybpf.sys import links as syslinks
from pybpf.sys import perf
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType, UprobeMultiFlags

__all__ = ["attach_uprobe", "attach_uprobe_multi", "resolve_uprobe"]


def resolve_uprobe(
    binary: str, symbol: str | None = None, offset: int = 0, *, pid: int = -1
) -> tuple[str, int, str]:
    """``(path, file offset, description)`` for a probe on ``binary``.

    ``binary`` may also be a whole target ``"path:func+off"`` (as in a
    ``SEC("uprobe//path:func+off")``) when ``symbol`` is None. ``symbol`` may carry
    ``+offset``; without a symbol ``offset`` is the file offset itself.
    """
    if symbol is None and ":" in binary and not os.path.exists(binary):
        binary, symbol, extra = parse_target(binary)
        offset += extra
    if symbol and "+" in symbol:
        symbol, _, off = symbol.partition("+")
        offset += int(off, 0)
    path = resolve_binary(binary, pid=pid)
    if symbol:
        base = symbol_offset(path, symbol)
        where = f"{symbol}+{offset:#x}" if offset else symbol
        return path, base + offset, f"{path}:{where}"
    return path, offset, f"{path}:{offset:#x}"


def attach_uprobe(
    prog_fd: int,
    binary: str,
    symbol: str | None = None,
    offset: int = 0,
    *,
    prog_name: str = "",
    pid: int = -1,
    retprobe: bool = False,
    ref_ctr_offset: int = 0,
    cookie: int = 0,
    use_pmu: bool | None = None,
    use_link: bool | None = None,
) -> PerfEventLink:
    """Attach a uprobe (``retprobe``: uretprobe) program to ``binary`` at ``symbol+offset``.

    ``pid`` limits it to one process (-1: every process running the binary);
    ``use_pmu=False`` forces the tracefs ``uprobe_events`` path.
    """
    path, file_off, target = resolve_uprobe(binary, symbol, offset, pid=pid)
    kind = "uretprobe" if retprobe else "uprobe"
    what = f"{kind} {target}"
    pmu = pmu_type("uprobe")
    if use_pmu is None:
        use_pmu = pmu is not None
    if use_pmu and pmu is None:
        raise NotSupportedError(
            "the uprobe perf PMU", "pass use_pmu=None to fall back to uprobe_events"
        )
    cpu = 0 if pid == -1 else -1
    cleanup = None
    try:
        if use_pmu:
            perf_fd = perf.probe_event_open(
                "uprobe",
                path,
                file_off,
                retprobe=retprobe,
                ref_ctr_offset=ref_ctr_offset,
                pid=pid,
                cpu=cpu,
                op=f"open perf event for {what}",
            )
        else:
            loc = f"{path}:{file_off:#x}" + (f"({ref_ctr_offset:#x})" if ref_ctr_offset else "")
            label = symbol or f"{file_off:x}"
            perf_fd, cleanup = open_tracefs_probe(
                "uprobe", label, loc, retprobe=retprobe, pid=pid, cpu=cpu, what=what
            )
    except KernelError as exc:
        if exc.errno == errno.ESRCH:
            raise AttachError(f"create {what}", errno.ESRCH, f"no process {pid}") from exc
        raise
    return attach_perf_event_fd(
        prog_fd,
        perf_fd,
        kind=kind,
        prog_name=prog_name,
        target=target,
        cookie=cookie,
        cleanup=cleanup,
        use_link=use_link,
    )


def attach_uprobe_multi(
    prog_fd: int,
    binary: str,
    pattern: str | None = None,
    *,
    symbols: Sequence[str] | None = None,
    offsets: Sequence[int] | None = None,
    ref_ctr_offsets: Sequence[int] | None = None,
    cookies: Sequence[int] | None = None,
    prog_name: str = "",
    pid: int = -1,
    retprobe: bool = False,
    session: bool = False,
) -> FDLink:
    """Attach one uprobe.multi program to many functions of ``binary``.

    Give a glob ``pattern`` over its function symbols, a list of ``symbols`` or
    raw file ``offsets``.
    """
    path = resolve_binary(binary, pid=pid)
    if pattern is not None:
        symbols = _matching_functions(path, pattern)
        if not symbols:
            raise AttachError(
                f"attach uprobe.multi {path}:{pattern}", errno.ENOENT, "no function matches"
            )
    offs: list[int] = list(offsets or [])
    if symbols:
        offs = [symbol_offset(path, s) for s in symbols]
    if not offs:
        raise ValueError("uprobe.multi needs a pattern, symbols or offsets")
    n = len(offs)
    for seq, what in ((ref_ctr_offsets, "ref_ctr_offsets"), (cookies, "cookies")):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{len(seq)} {what} for {n} probes")
    kind = "uretprobe.multi" if retprobe else "uprobe.multi"
    target = f"{path}:{pattern or (symbols[0] if symbols and n == 1 else f'{n} probes')}"
    attach_type = AttachType.TRACE_UPROBE_SESSION if session else AttachType.TRACE_UPROBE_MULTI
    try:
        fd = syslinks.link_create(
            prog_fd,
            0,
            attach_type,
            uprobe_multi=syslinks.UprobeMulti(
                path=path,
                offsets=offs,
                ref_ctr_offsets=ref_ctr_offsets or (),
                cookies=cookies or (),
                pid=pid if pid > 0 else 0,
                flags=UprobeMultiFlags.RETURN if retprobe else 0,
            ),
            op=f"attach {kind} program {prog_name!r} to {target}",
        )
    except KernelError as exc:
        from pybpf.sys.kversions import before

        if exc.errno in (errno.EOPNOTSUPP, ENOTSUPP) or (
            exc.errno == errno.EINVAL and before("6.6")
        ):
            raise NotSupportedError(
                "uprobe.multi links (Linux 6.6+ with CONFIG_UPROBES)",
                "attach each function with attach_uprobe() instead",
                errno=exc.errno or 0,
                min_kernel="6.6",
            ) from exc
        if exc.errno == errno.EINVAL:
            raise AttachError(
                exc.op,
                errno.EINVAL,
                exc.detail,
                hint='the program must be loaded for uprobe.multi (SEC("uprobe.multi/..."), expected '
                "attach type BPF_TRACE_UPROBE_MULTI), and every target must exist",
            ) from exc
        raise
    return FDLink(fd, kind, prog_name, target)


def _matching_functions(path: str, pattern: str) -> list[str]:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    names: set[str] = set()
    with open(path, "rb") as f:
        elf = ELFFile(f)
        for table in (".symtab", ".dynsym"):
            sec = elf.get_section_by_name(table)
            if not isinstance(sec, SymbolTableSection):
                continue
            for sym in sec.iter_symbols():
                if (
                    sym["st_info"]["type"] == "STT_FUNC"
                    and sym["st_shndx"] != "SHN_UNDEF"
                    and sym["st_value"]
                    and fnmatch.fnmatchcase(sym.name, pattern)
                ):
                    names.add(sym.name)
    return sorted(names)

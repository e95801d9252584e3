"""kprobes, kretprobes, ksyscall and kprobe.multi.

A kprobe is a perf event: made by the ``kprobe`` perf PMU where it exists, else by
an entry pybpf adds to tracefs ``kprobe_events`` (named for this process and removed
on close). Kernels built without CONFIG_KPROBES have neither: attaching raises a
:class:`~pybpf.errors.NotSupportedError` suggesting tracepoints instead.
"""

from __future__ import annotations

import errno
import fnmatch
import functools
import platform
from collections.abc import Sequence

from pybpf.errors import AttachError, KernelError, NotSupportedError
from pybpf.link.base import FDLink, PerfEventLink
from pybpf.link.perf_event import attach_perf_event_fd, open_tracefs_probe
from pybpf.sys import links as syslinks
from pybpf.sys import perf
from pybpf.sys.fd import FD
from pybpf.sys.perf import pmu_retprobe_bit
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType, KprobeMultiFlags

__all__ = [
    "attach_kprobe",
    "attach_kprobe_multi",
    "attach_ksyscall",
    "kprobes_unsupported",
    "pmu_retprobe_bit",
    "pmu_type",
    "syscall_function",
]

_SYSCALL_PREFIX = {
    "x86_64": "__x64_",
    "i686": "__ia32_",
    "aarch64": "__arm64_",
    "arm64": "__arm64_",
    "s390x": "__s390x_",
    "riscv64": "__riscv_",
    "ppc64le": "",
    "loongarch64": "",
}


def pmu_type(name: str) -> int | None:
    """The perf type number of PMU ``name`` (``kprobe``, ``uprobe``), None when absent."""
    try:
        return perf.pmu_type(name)
    except (NotSupportedError, OSError, ValueError):
        return None


def kprobes_unsupported(what: str = "kprobes") -> NotSupportedError:
    """The error for a kernel without kprobes (no kprobe PMU, no kprobe_events)."""
    return NotSupportedError(
        what,
        "the kernel was built without kprobes (CONFIG_KPROBES is off: no kprobe perf PMU "
        "and no kprobe_events in tracefs); attach to a tracepoint (tp/<category>/<name>), "
        "a raw tracepoint (raw_tp/<name>) or a BTF tracepoint (tp_btf/<name>) instead",
        errno=errno.EOPNOTSUPP,
    )


def _has_kprobe_events() -> bool:
    from pybpf.sys.fs import tracefs_root

    root = tracefs_root()
    return root is not None and (root / "kprobe_events").exists()


def attach_kprobe(
    prog_fd: int,
    func: str,
    *,
    prog_name: str = "",
    retprobe: bool = False,
    offset: int = 0,
    cookie: int = 0,
    use_pmu: bool | None = None,
    use_link: bool | None = None,
) -> PerfEventLink:
    """Attach a kprobe (``retprobe``: kretprobe) program to kernel function ``func``.

    ``func`` may carry ``+offset``; ``use_pmu=False`` forces the tracefs path.
    """
    if "+" in func and not offset:
        func, _, off = func.partition("+")
        offset = int(off, 0)
    kind = "kretprobe" if retprobe else "kprobe"
    target = f"{func}+{offset:#x}" if offset else func
    pmu = pmu_type("kprobe")
    if use_pmu is None:
        use_pmu = pmu is not None
    if use_pmu and pmu is None:
        if not _has_kprobe_events():
            raise kprobes_unsupported(f"{kind} on {target}")
        raise NotSupportedError("the kprobe perf PMU", "pass use_pmu=None to use kprobe_events")
    what = f"{kind} {target}"
    cleanup = None
    if use_pmu:
        try:
            perf_fd = perf.probe_event_open(
                "kprobe", func, offset, retprobe=retprobe, op=f"open perf event for {what}"
            )
        except KernelError as exc:
            raise _kprobe_error(exc, what, func) from exc
    else:
        if not _has_kprobe_events():
            raise kprobes_unsupported(f"{kind} on {target}")
        perf_fd, cleanup = open_tracefs_probe(
            "kprobe", func, f"{func}+{offset}", retprobe=retprobe, what=what
        )
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


def _kprobe_error(exc: KernelError, what: str, func: str) -> KernelError:
    if exc.errno in (errno.ENOENT, errno.EINVAL):
        return AttachError(
            f"create {what}",
            exc.errno or 0,
            f"no probeable kernel function {func!r}",
            hint="check /proc/kallsyms (the function may be inlined, static with "
            "a suffix like .isra.0, or blacklisted for kprobes)",
        )
    return AttachError(f"create {what}", exc.errno or 0, exc.detail, hint=exc.hint)


@functools.cache
def _kallsyms_functions() -> frozenset[str]:
    names: set[str] = set()
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":
                    names.add(parts[2])
    except OSError:
        pass
    return frozenset(names)


def syscall_function(syscall: str) -> str:
    """The kernel function of ``syscall``: ``__x64_sys_<name>`` with syscall wrappers."""
    prefix = _SYSCALL_PREFIX.get(platform.machine(), "")
    syms = _kallsyms_functions()
    if prefix and (f"{prefix}sys_bpf" in syms or not syms):
        return f"{prefix}sys_{syscall}"
    return f"sys_{syscall}"


def attach_ksyscall(
    prog_fd: int,
    syscall: str,
    *,
    prog_name: str = "",
    retprobe: bool = False,
    cookie: int = 0,
    use_pmu: bool | None = None,
) -> PerfEventLink:
    """Attach a ksyscall (``retprobe``: kretsyscall) program to system call ``syscall``."""
    func = syscall_function(syscall)
    try:
        link = attach_kprobe(
            prog_fd,
            func,
            prog_name=prog_name,
            retprobe=retprobe,
            cookie=cookie,
            use_pmu=use_pmu,
        )
    except NotSupportedError as exc:
        if "CONFIG_KPROBES" not in (exc.hint or ""):
            raise  # not the missing kprobes (e.g. a cookie before 5.15): as it is
        kind = "kretsyscall" if retprobe else "ksyscall"
        raise kprobes_unsupported(f"{kind} on {syscall} ({func})") from exc
    link.kind = "kretsyscall" if retprobe else "ksyscall"
    return link


def _available_functions() -> list[str]:
    from pybpf.sys.fs import tracefs_root

    root = tracefs_root()
    path = root / "available_filter_functions" if root else None
    if path is not None and path.exists():
        try:
            with open(path) as f:
                return [line.split()[0] for line in f if line.strip()]
        except OSError:
            pass  # ftrace disabled or not permitted: kallsyms is the next best list
    return sorted(_kallsyms_functions())


def attach_kprobe_multi(
    prog_fd: int,
    pattern: str | None = None,
    *,
    syms: Sequence[str] | None = None,
    addrs: Sequence[int] | None = None,
    cookies: Sequence[int] | None = None,
    prog_name: str = "",
    retprobe: bool = False,
    session: bool = False,
) -> FDLink:
    """Attach one kprobe.multi program to many functions (a glob ``pattern``, ``syms`` or ``addrs``)."""
    kind = "kretprobe.multi" if retprobe else "kprobe.multi"
    if pattern is not None:
        if syms or addrs:
            raise ValueError("give a pattern, syms or addrs, not several")
        syms = [f for f in _available_functions() if fnmatch.fnmatchcase(f, pattern)]
        if not syms:
            raise AttachError(
                f"attach {kind} {pattern!r}", errno.ENOENT, "no kernel function matches"
            )
    count = len(syms or addrs or [])
    if not count:
        raise ValueError("kprobe.multi needs a pattern, syms or addrs")
    if cookies is not None and len(cookies) != count:
        raise ValueError(f"{len(cookies)} cookies for {count} functions")
    attach_type = AttachType.TRACE_KPROBE_SESSION if session else AttachType.TRACE_KPROBE_MULTI
    target = pattern or (f"{count} functions" if count > 1 else (syms or [""])[0])
    try:
        fd: FD = syslinks.link_create(
            prog_fd,
            0,
            attach_type,
            kprobe_multi=syslinks.KprobeMulti(
                syms=syms or (),
                addrs=addrs or (),
                cookies=cookies or (),
                flags=KprobeMultiFlags.RETURN if retprobe else 0,
            ),
            op=f"attach {kind} program {prog_name!r} to {target}",
        )
    except KernelError as exc:
        if exc.errno in (errno.EOPNOTSUPP, ENOTSUPP):
            if not (pmu_type("kprobe") is not None or _has_kprobe_events()):
                raise kprobes_unsupported(f"{kind} on {target}") from exc
            raise NotSupportedError(
                f"{kind} links (fprobe)",
                "the kernel was built without CONFIG_FPROBE / kprobes; attach the program "
                "with one kprobe per function, or use tracepoints, raw_tp or tp_btf",
                errno=exc.errno or 0,
                min_kernel="5.18",
            ) from exc
        from pybpf.sys.kversions import before

        if exc.errno == errno.EINVAL and before("5.18"):
            raise NotSupportedError(
                f"{kind} links",
                "attach the program with one kprobe per function instead",
                errno=errno.EINVAL,
                min_kernel="5.18",
            ) from exc
        if exc.errno == errno.EINVAL:
            raise AttachError(
                exc.op,
                errno.EINVAL,
                exc.detail,
                hint='the program must be loaded for kprobe.multi (SEC("kprobe.multi/..."), expected '
                "attach type BPF_TRACE_KPROBE_MULTI), and every target must exist",
            ) from exc
        raise
    return FDLink(fd, kind, prog_name, target)

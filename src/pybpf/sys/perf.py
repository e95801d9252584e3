"""perf_event_open(2), the perf ioctls BPF needs, and dynamic PMUs (kprobe/uprobe).

Perf events carry BPF programs for kprobes, uprobes, tracepoints and sampling
events, and perf buffers read from them.
"""

from __future__ import annotations

import ctypes
import errno
import functools
from pathlib import Path

from pybpf.errors import AttachError, NotSupportedError
from pybpf.sys import syscall
from pybpf.sys._ffi import addr, cstr
from pybpf.sys.fd import FD
from pybpf.sys.maps import FdLike, fdnum
from pybpf.uapi.enums import PerfFlag, PerfSwId, PerfType

__all__ = [
    "IOC_DISABLE",
    "IOC_ENABLE",
    "IOC_ID",
    "IOC_SET_BPF",
    "PerfEventAttr",
    "perf_event_disable",
    "perf_event_enable",
    "perf_event_id",
    "perf_event_open",
    "perf_event_set_bpf",
    "pmu_retprobe_bit",
    "pmu_type",
    "probe_event_open",
    "software_event_attr",
    "tracepoint_id",
]

_PMU_DIR = Path("/sys/bus/event_source/devices")
_UPROBE_REF_CTR_SHIFT = 32  # PERF_UPROBE_REF_CTR_OFFSET_SHIFT


def _ioc(direction: int, nr: int, size: int) -> int:
    """The generic _IOC encoding (x86, arm64, riscv) with type '$' (perf)."""
    return (direction << 30) | (size << 16) | (ord("$") << 8) | nr


IOC_ENABLE = _ioc(0, 0, 0)
IOC_DISABLE = _ioc(0, 1, 0)
IOC_ID = _ioc(2, 7, 8)
IOC_SET_BPF = _ioc(1, 8, 4)

_FLAG_BITS = (
    ("disabled", 1),
    ("inherit", 1),
    ("pinned", 1),
    ("exclusive", 1),
    ("exclude_user", 1),
    ("exclude_kernel", 1),
    ("exclude_hv", 1),
    ("exclude_idle", 1),
    ("mmap", 1),
    ("comm", 1),
    ("freq", 1),
    ("inherit_stat", 1),
    ("enable_on_exec", 1),
    ("task", 1),
    ("watermark", 1),
    ("precise_ip", 2),
    ("mmap_data", 1),
    ("sample_id_all", 1),
    ("exclude_host", 1),
    ("exclude_guest", 1),
    ("exclude_callchain_kernel", 1),
    ("exclude_callchain_user", 1),
    ("mmap2", 1),
    ("comm_exec", 1),
    ("use_clockid", 1),
    ("context_switch", 1),
    ("write_backward", 1),
    ("namespaces", 1),
    ("ksymbol", 1),
    ("bpf_event", 1),
    ("aux_output", 1),
    ("cgroup", 1),
    ("text_poke", 1),
    ("build_id", 1),
    ("inherit_thread", 1),
    ("remove_on_exec", 1),
    ("sigtrap", 1),
    ("_reserved_1", 26),
)


class PerfEventAttr(ctypes.Structure):
    """``struct perf_event_attr`` (PERF_ATTR_SIZE_VER8, 136 bytes).

    Unions are flattened to their first name: ``sample_period`` is also
    ``sample_freq``, ``wakeup_events`` also ``wakeup_watermark``, ``config1`` also
    kprobe_func/uprobe_path/bp_addr, ``config2`` also probe_offset/bp_len.
    """

    _fields_ = (
        ("type", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("config", ctypes.c_uint64),
        ("sample_period", ctypes.c_uint64),
        ("sample_type", ctypes.c_uint64),
        ("read_format", ctypes.c_uint64),
        *((name, ctypes.c_uint64, bits) for name, bits in _FLAG_BITS),
        ("wakeup_events", ctypes.c_uint32),
        ("bp_type", ctypes.c_uint32),
        ("config1", ctypes.c_uint64),
        ("config2", ctypes.c_uint64),
        ("branch_sample_type", ctypes.c_uint64),
        ("sample_regs_user", ctypes.c_uint64),
        ("sample_stack_user", ctypes.c_uint32),
        ("clockid", ctypes.c_int32),
        ("sample_regs_intr", ctypes.c_uint64),
        ("aux_watermark", ctypes.c_uint32),
        ("sample_max_stack", ctypes.c_uint16),
        ("_reserved_2", ctypes.c_uint16),
        ("aux_sample_size", ctypes.c_uint32),
        ("aux_action", ctypes.c_uint32),
        ("sig_data", ctypes.c_uint64),
        ("config3", ctypes.c_uint64),
    )


def perf_event_open(
    attr: PerfEventAttr,
    pid: int = -1,
    cpu: int = 0,
    group_fd: int = -1,
    flags: int = PerfFlag.FD_CLOEXEC,
    *,
    op: str = "open perf event",
) -> FD:
    """perf_event_open(2); ``attr.size`` is filled in. Returns the event fd."""
    attr.size = ctypes.sizeof(PerfEventAttr)
    while True:
        ret = syscall.raw.perf_event_open(ctypes.byref(attr), pid, cpu, group_fd, int(flags))
        if ret >= 0:
            return FD(ret, "perf_event")
        err = -ret
        if err != errno.EINTR:
            raise AttachError(op, err, hint=_perf_hint(err))


def _perf_hint(err: int) -> str | None:
    if err in (errno.EACCES, errno.EPERM):
        return "needs root/CAP_PERFMON, or a lower /proc/sys/kernel/perf_event_paranoid"
    if err == errno.ENOENT:
        return "no such event or probe target on this system"
    if err == errno.EINVAL:
        return "the kernel rejected the event attributes"
    return None


def _ioctl(fd: FdLike, request: int, arg: int | ctypes.c_uint64, what: str) -> None:
    res = syscall.raw.ioctl(fdnum(fd), request, arg)
    if res < 0:
        raise AttachError(what, -res)


def perf_event_enable(fd: FdLike, *, op: str = "enable perf event") -> None:
    """PERF_EVENT_IOC_ENABLE; ``op`` names the operation in the error."""
    _ioctl(fd, IOC_ENABLE, 0, op)


def perf_event_disable(fd: FdLike, *, op: str = "disable perf event") -> None:
    """PERF_EVENT_IOC_DISABLE; ``op`` names the operation in the error."""
    _ioctl(fd, IOC_DISABLE, 0, op)


def perf_event_set_bpf(
    fd: FdLike, prog_fd: FdLike, *, op: str = "attach program to perf event"
) -> None:
    """PERF_EVENT_IOC_SET_BPF: run ``prog_fd`` on every occurrence of the event."""
    _ioctl(fd, IOC_SET_BPF, fdnum(prog_fd), op)


def perf_event_id(fd: FdLike) -> int:
    """PERF_EVENT_IOC_ID: the kernel's id of the event."""
    value = ctypes.c_uint64()
    res = syscall.raw.ioctl(fdnum(fd), IOC_ID, ctypes.byref(value))
    if res < 0:
        raise AttachError("get perf event id", -res)
    return int(value.value)


def software_event_attr(
    config: PerfSwId | int = PerfSwId.CPU_CLOCK,
    *,
    sample_period: int = 0,
    sample_freq: int = 0,
    disabled: bool = False,
) -> PerfEventAttr:
    """Attributes of a software event (cpu-clock, page-faults, bpf-output, ...)."""
    attr = PerfEventAttr(type=PerfType.SOFTWARE, config=int(config))
    if sample_freq:
        attr.sample_period, attr.freq = sample_freq, 1
    else:
        attr.sample_period = sample_period
    attr.disabled = int(disabled)
    return attr


@functools.cache
def pmu_type(pmu: str) -> int:
    """The dynamic perf type number of a PMU (``kprobe``, ``uprobe``, ...)."""
    path = _PMU_DIR / pmu / "type"
    try:
        return int(path.read_text())
    except FileNotFoundError as exc:
        raise NotSupportedError(
            f"the {pmu!r} perf PMU", f"{path} does not exist", errno=errno.ENOENT
        ) from exc


@functools.cache
def pmu_retprobe_bit(pmu: str) -> int:
    """Which config bit makes a ``kprobe``/``uprobe`` PMU event a return probe."""
    path = _PMU_DIR / pmu / "format" / "retprobe"
    try:
        text = path.read_text().strip()  # e.g. "config:0"
    except FileNotFoundError as exc:
        raise NotSupportedError(
            f"return probes on the {pmu!r} PMU", f"{path} does not exist", errno=errno.ENOENT
        ) from exc
    field, _, bit = text.partition(":")
    if field != "config" or not bit.isdigit():
        raise NotSupportedError(f"return probes on the {pmu!r} PMU", f"unexpected format {text!r}")
    return int(bit)


def probe_event_open(
    pmu: str,
    target: str,
    offset: int = 0,
    *,
    retprobe: bool = False,
    ref_ctr_offset: int = 0,
    pid: int = -1,
    cpu: int = 0,
    op: str | None = None,
) -> FD:
    """Open a kprobe (``target`` = function, ``offset`` into it; or an address with empty
    target) or uprobe (``target`` = binary path, ``offset`` = file offset) perf event.

    ``op`` names the operation in the error (default: the probe kind and target).
    """
    attr = PerfEventAttr(type=pmu_type(pmu))
    if retprobe:
        attr.config |= 1 << pmu_retprobe_bit(pmu)
    if ref_ctr_offset:
        attr.config |= ref_ctr_offset << _UPROBE_REF_CTR_SHIFT
    name = cstr(target) if target else None
    attr.config1 = addr(name)  # kprobe_func / uprobe_path
    attr.config2 = offset  # probe_offset (or kprobe_addr with no name)
    attr.sample_period = 1
    kind = (
        ("uretprobe" if retprobe else "uprobe")
        if pmu == "uprobe"
        else ("kretprobe" if retprobe else "kprobe")
    )
    fd = perf_event_open(attr, pid, cpu, op=op or f"open {kind} {target}+{offset:#x}")
    del name
    return fd


def tracepoint_id(category: str, name: str) -> int:
    """The perf id of tracepoint ``category/name`` (``events/<cat>/<name>/id`` in tracefs,
    mounted if needed).

    Raises :class:`AttachError` (ENOENT) naming the tracepoint and the closest
    existing names when it does not exist.
    """
    from pybpf.sys.fs import ensure_tracefs

    if not category or not name or "/" in category or "/" in name:
        raise AttachError(
            f"find tracepoint {category}/{name}",
            errno.EINVAL,
            "a tracepoint is named <category>/<name>, e.g. syscalls/sys_enter_getpid",
        )
    events = ensure_tracefs() / "events"
    path = events / category / name / "id"
    try:
        return int(path.read_text().strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise AttachError(
            f"read tracepoint id {path}", getattr(exc, "errno", None) or errno.EIO
        ) from exc
    raise AttachError(
        f"find tracepoint {category}/{name}",
        errno.ENOENT,
        _missing_tracepoint(events, category, name),
        hint=f"list them with `pybpf tracepoint list` or ls {events}",
    )


def _missing_tracepoint(events: Path, category: str, name: str) -> str:
    """Why ``category/name`` is not under ``events``, with the closest names there are."""
    import difflib

    cat_dir = events / category
    if not cat_dir.is_dir():
        cats = [p.name for p in events.iterdir() if p.is_dir()]
        close = difflib.get_close_matches(category, cats, n=3)
        tail = f"; did you mean {', '.join(close)}?" if close else ""
        return f"there is no tracepoint category {category!r} in {events}{tail}"
    names = [p.name for p in cat_dir.iterdir() if p.is_dir()]
    close = difflib.get_close_matches(name, names, n=3)
    tail = f"; did you mean {', '.join(close)}?" if close else ""
    return f"category {category!r} has no tracepoint {name!r}{tail}"

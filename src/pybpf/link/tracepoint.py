"""Tracepoints (``tp/``, ``tracepoint/``) and raw tracepoints (``raw_tp/``, ``.w`` writable).

A tracepoint is attached as a perf event: its id from tracefs, perf_event_open of
type PERF_TYPE_TRACEPOINT, then a perf link or the ioctl path. A raw tracepoint is a
BPF link made by BPF_RAW_TRACEPOINT_OPEN with the tracepoint's name.
"""

from __future__ import annotations

import errno

from pybpf.errors import AttachError, KernelError
from pybpf.kernel import tracefs
from pybpf.link.base import FDLink, PerfEventLink
from pybpf.link.perf_event import attach_perf_event_fd
from pybpf.sys import links as syslinks
from pybpf.sys import perf
from pybpf.uapi.enums import PerfType

__all__ = ["attach_raw_tracepoint", "attach_tracepoint", "split_tracepoint"]


def split_tracepoint(target: str) -> tuple[str, str]:
    """``"sched/sched_switch"`` or ``"sched:sched_switch"`` -> ``("sched", "sched_switch")``."""
    for sep in ("/", ":"):
        cat, found, name = target.partition(sep)
        if found and cat and name and sep not in name:
            return cat, name
    raise AttachError(
        f"parse tracepoint {target!r}",
        errno.EINVAL,
        "expected <category>/<name>, e.g. syscalls/sys_enter_getpid",
    )


def attach_tracepoint(
    prog_fd: int,
    category: str,
    name: str | None = None,
    *,
    prog_name: str = "",
    cookie: int = 0,
    use_link: bool | None = None,
) -> PerfEventLink:
    """Attach a tracepoint program to ``category/name`` (or ``category`` = ``"cat/name"``).

    ``use_link=False`` forces the ioctl path (PERF_EVENT_IOC_SET_BPF), as kernels
    before 5.15 need.
    """
    if name is None:
        category, name = split_tracepoint(category)
    tp_id = tracefs.tracepoint_id(category, name)
    attr = perf.PerfEventAttr(type=PerfType.TRACEPOINT, config=tp_id, sample_period=1)
    attr.wakeup_events = 1
    perf_fd = perf.perf_event_open(
        attr, -1, 0, op=f"open perf event for tracepoint {category}/{name}"
    )
    return attach_perf_event_fd(
        prog_fd,
        perf_fd,
        kind="tracepoint",
        prog_name=prog_name,
        target=f"{category}/{name}",
        cookie=cookie,
        use_link=use_link,
    )


def attach_raw_tracepoint(
    prog_fd: int, name: str, *, prog_name: str = "", cookie: int = 0
) -> FDLink:
    """Attach a raw_tp (or writable raw_tp) program to the kernel tracepoint ``name``."""
    tp = name.rpartition("/")[2] if "/" in name else name
    try:
        fd = syslinks.raw_tracepoint_open(tp, prog_fd, cookie)
    except KernelError as exc:
        if exc.errno == errno.ENOENT:
            raise AttachError(
                f"attach {prog_name or 'program'} to raw tracepoint {tp!r}",
                errno.ENOENT,
                "the kernel has no tracepoint of that name",
                hint="raw tracepoints take the bare name (sys_enter, sched_switch); "
                "see `pybpf tracepoint list` (categories are not part of the name)",
            ) from exc
        raise AttachError(
            f"attach {prog_name or 'program'} to raw tracepoint {tp!r}",
            exc.errno or 0,
            exc.detail,
            hint=exc.hint,
        ) from exc
    return FDLink(fd, "raw_tracepoint", prog_name, tp)

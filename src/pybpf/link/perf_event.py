"""Attach a program to perf events: the path tracepoints, kprobes and uprobes share.

With perf links (5.15+) the program is attached by ``BPF_LINK_CREATE``
(``BPF_PERF_EVENT``, with a cookie); otherwise by the ioctl path of the classic
samples loader, ``PERF_EVENT_IOC_SET_BPF``. Either way the event is then enabled.
Also opens per-CPU sampling events (software cpu-clock) for ``perf_event`` programs.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence

from pybpf.errors import AttachError, BPFError, KernelError, NotSupportedError
from pybpf.kernel import tracefs
from pybpf.link.base import LinkGroup, PerfEventLink
from pybpf.sys import links as syslinks
from pybpf.sys import perf
from pybpf.sys.cpus import online_cpus
from pybpf.sys.fd import FD, dup_fd
from pybpf.uapi.enums import AttachType, PerfSwId, PerfType

__all__ = [
    "attach_perf_event",
    "attach_perf_event_fd",
    "attach_sampling",
    "online_cpus",
    "open_sampling_event",
    "open_tracefs_probe",
]


def _has_perf_link() -> bool:
    from pybpf.sys import features

    return features.has_link_create_perf_event()


def attach_perf_event_fd(
    prog_fd: int,
    perf_fd: FD,
    *,
    kind: str = "perf_event",
    prog_name: str = "",
    target: str = "",
    cookie: int = 0,
    cleanup: Callable[[], None] | None = None,
    use_link: bool | None = None,
) -> PerfEventLink:
    """Attach ``prog_fd`` to the owned ``perf_fd`` and enable it.

    ``use_link`` picks the method: None (best the kernel has), True (BPF link,
    error if absent) or False (ioctl). On failure ``perf_fd`` is closed and
    ``cleanup`` runs, so nothing is left behind.
    """
    try:
        if use_link is None:
            use_link = _has_perf_link()
        elif use_link and not _has_perf_link():
            raise NotSupportedError(
                "perf event links (BPF_LINK_CREATE with BPF_PERF_EVENT, Linux 5.15)",
                "pass use_link=None to fall back to PERF_EVENT_IOC_SET_BPF",
                min_kernel="5.15",
            )
        if cookie and not use_link:
            raise NotSupportedError(
                "BPF cookies on ioctl-attached perf events",
                "cookies need perf event links (Linux 5.15+); attach without a cookie",
                min_kernel="5.15",
            )
        what = f"attach {prog_name or 'program'} to {target or kind}"
        link_fd: FD | None = None
        if use_link:
            link_fd = syslinks.link_create(
                prog_fd,
                perf_fd,
                AttachType.PERF_EVENT,
                perf_event_cookie=cookie or None,
                op=what,
            )
        else:
            perf.perf_event_set_bpf(perf_fd, prog_fd, op=what)
        try:
            perf.perf_event_enable(perf_fd, op=f"enable {target or kind}")
        except BaseException:
            if link_fd is not None:
                link_fd.close()
            raise
    except BaseException:
        perf_fd.close()
        if cleanup is not None:
            cleanup()
        raise
    return PerfEventLink(perf_fd, link_fd, kind, prog_name, target, cleanup)


def open_tracefs_probe(
    kind: str,
    label: str,
    location: str,
    *,
    retprobe: bool = False,
    pid: int = -1,
    cpu: int = 0,
    what: str = "",
) -> tuple[FD, Callable[[], None]]:
    """Add a tracefs ``kprobe``/``uprobe`` entry and open its tracepoint perf event.

    For kernels without the probe's perf PMU. Returns the event fd and the callback
    removing the entry; on failure the entry is already removed.
    """
    ev = tracefs.add_probe_event(kind, label, location, retprobe=retprobe)
    try:
        attr = perf.PerfEventAttr(type=PerfType.TRACEPOINT, config=ev.event_id, sample_period=1)
        op = f"open perf event for {what}" if what else "open perf event"
        return perf.perf_event_open(attr, pid, cpu, op=op), ev.remove
    except BaseException:
        ev.remove()
        raise


def attach_perf_event(
    prog_fd: int,
    perf_fd: int | FD,
    *,
    prog_name: str = "",
    cookie: int = 0,
    use_link: bool | None = None,
) -> PerfEventLink:
    """Attach a ``perf_event`` program to an open perf event (a dup of it is owned)."""
    owned = dup_fd(int(perf_fd), "perf_event")
    return attach_perf_event_fd(
        prog_fd,
        owned,
        kind="perf_event",
        prog_name=prog_name,
        target=f"perf event fd {int(perf_fd)}",
        cookie=cookie,
        use_link=use_link,
    )


def open_sampling_event(
    cpu: int,
    *,
    type: PerfType | int = PerfType.SOFTWARE,
    config: int = PerfSwId.CPU_CLOCK,
    sample_period: int = 0,
    sample_freq: int = 0,
    pid: int = -1,
) -> FD:
    """perf_event_open a sampling event on ``cpu`` (default: software cpu-clock)."""
    attr = perf.PerfEventAttr(type=int(type), config=int(config))
    if sample_freq:
        attr.sample_period, attr.freq = sample_freq, 1
    else:
        attr.sample_period = sample_period or 1_000_000
    try:
        return perf.perf_event_open(attr, pid, cpu, op=f"open perf event for sampling on CPU {cpu}")
    except KernelError as exc:
        if exc.errno == errno.ENOENT and int(type) == PerfType.HARDWARE:
            raise NotSupportedError(
                "hardware perf events on this machine",
                "use type=PerfType.SOFTWARE, config=PerfSwId.CPU_CLOCK",
                errno=errno.ENOENT,
            ) from exc
        raise


def attach_sampling(
    prog_fd: int,
    *,
    prog_name: str = "",
    cpus: Sequence[int] | None = None,
    type: PerfType | int = PerfType.SOFTWARE,
    config: int = PerfSwId.CPU_CLOCK,
    sample_period: int = 0,
    sample_freq: int = 0,
    use_link: bool | None = None,
) -> LinkGroup:
    """Open a sampling event on each CPU (all online by default) and attach to each."""
    links: list[PerfEventLink] = []
    try:
        for cpu in online_cpus() if cpus is None else cpus:
            fd = open_sampling_event(
                cpu, type=type, config=config, sample_period=sample_period, sample_freq=sample_freq
            )
            links.append(
                attach_perf_event_fd(
                    prog_fd,
                    fd,
                    kind="perf_event",
                    prog_name=prog_name,
                    target=f"cpu {cpu}",
                    use_link=use_link,
                )
            )
    except BaseException:
        for link in links:
            try:  # noqa: SIM105 - report the original error
                link.close()
            except BPFError:
                pass
        raise
    if not links:
        raise AttachError(
            f"attach {prog_name or 'program'} to sampling events", errno.EINVAL, "no CPU given"
        )
    return LinkGroup(links, "perf_event", prog_name, f"{len(links)} CPUs")

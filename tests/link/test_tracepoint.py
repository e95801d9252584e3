"""Tracepoints and raw tracepoints with real getpid() calls, through both attach paths."""

from __future__ import annotations

import os

import pytest
from tests.link._progs import Counter

from pybpf.errors import AttachError, LinkError, NotSupportedError
from pybpf.link import FDLink, PerfEventLink
from pybpf.link.tracepoint import attach_raw_tracepoint, attach_tracepoint, split_tracepoint
from pybpf.uapi.enums import LinkType, PerfEventLinkType, ProgType

pytestmark = pytest.mark.kernel

CALLS = 25


def _getpids(n: int = CALLS) -> None:
    for _ in range(n):
        os.getpid()  # not cached by glibc: a real syscall each time


def _detaches_soon(c: Counter, timeout: float = 3.0) -> bool:
    """True once getpid() calls stop counting (link release is deferred in the kernel)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        settled = c.value()
        _getpids()
        if c.value() == settled:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("use_link", [True, False], ids=["bpf_link", "ioctl"])
def test_tracepoint_counts_getpid(no_leaks: object, use_link: bool) -> None:
    c = Counter(ProgType.TRACEPOINT, pid=os.getpid(), name="lt_tp")
    try:
        link = attach_tracepoint(
            c.fd, "syscalls", "sys_enter_getpid", prog_name=c.name, use_link=use_link
        )
        assert isinstance(link, PerfEventLink)
        assert link.uses_bpf_link is use_link
        assert link.kind == "tracepoint" and link.target == "syscalls/sys_enter_getpid"
        _getpids()
        assert c.value() == CALLS
        link.close()
        assert link.closed
        link.close()  # idempotent
        _getpids()
        assert c.value() == CALLS  # detached: no more counts
    finally:
        c.close()


def test_tracepoint_link_info_and_cookie(no_leaks: object) -> None:
    c = Counter(ProgType.TRACEPOINT, name="lt_tpinfo")
    try:
        with attach_tracepoint(c.fd, "syscalls/sys_enter_getpid", cookie=0x1234) as link:
            info = link.info()
            assert info.type == LinkType.PERF_EVENT
            assert info.details["perf_event_type"] == PerfEventLinkType.TRACEPOINT
            assert info.details["tp_name"] == "sys_enter_getpid"
            assert info.details["cookie"] == 0x1234
            assert link.id == info.id > 0
            with pytest.raises(NotSupportedError, match="BPF_LINK_UPDATE"):
                link.update_program(c.fd)
        assert link.closed
    finally:
        c.close()


def test_ioctl_path_has_no_link_object(no_leaks: object) -> None:
    c = Counter(ProgType.TRACEPOINT, name="lt_tpio")
    try:
        with attach_tracepoint(c.fd, "syscalls/sys_enter_getpid", use_link=False) as link:
            with pytest.raises(NotSupportedError, match="not a BPF link"):
                link.info()
            with pytest.raises(NotSupportedError, match="cookies"):
                attach_tracepoint(c.fd, "syscalls/sys_enter_getppid", cookie=1, use_link=False)
    finally:
        c.close()


def test_missing_tracepoint_names_it(no_leaks: object) -> None:
    c = Counter(ProgType.TRACEPOINT, name="lt_tpmiss")
    try:
        with pytest.raises(AttachError) as exc:
            attach_tracepoint(c.fd, "syscalls/sys_enter_getpidd")
        msg = str(exc.value)
        assert "syscalls/sys_enter_getpidd" in msg and "sys_enter_getpid" in msg
        assert "tracepoint list" in msg
        with pytest.raises(AttachError, match=r"no tracepoint category 'syscall'.*syscalls"):
            attach_tracepoint(c.fd, "syscall/sys_enter_getpid")
        with pytest.raises(AttachError, match="<category>/<name>"):
            split_tracepoint("sys_enter_getpid")
    finally:
        c.close()


def test_raw_tracepoint_counts_sys_enter(no_leaks: object) -> None:
    c = Counter(ProgType.RAW_TRACEPOINT, pid=os.getpid(), name="lt_rawtp")
    try:
        link = attach_raw_tracepoint(c.fd, "sys_enter", prog_name=c.name)
        assert isinstance(link, FDLink)
        before = c.value()
        _getpids()
        after = c.value()
        # every syscall of this process counts: at least our getpid calls
        assert after - before >= CALLS
        info = link.info()
        assert info.type == LinkType.RAW_TRACEPOINT and info.details["tp_name"] == "sys_enter"
        link.close()
        settled = c.value()
        _getpids()
        assert c.value() == settled
    finally:
        c.close()


def test_raw_tracepoint_unknown_name(no_leaks: object) -> None:
    c = Counter(ProgType.RAW_TRACEPOINT, name="lt_rawbad")
    try:
        with pytest.raises(AttachError, match=r"raw tracepoint 'no_such_tp'.*bare name"):
            attach_raw_tracepoint(c.fd, "no_such_tp")
    finally:
        c.close()


def test_pin_from_pin_from_id_and_unpin_on_close(no_leaks: object) -> None:
    c = Counter(ProgType.RAW_TRACEPOINT, pid=os.getpid(), name="lt_pin")
    path = f"/sys/fs/bpf/pybpf_lt_pin_{os.getpid()}"
    try:
        link = attach_raw_tracepoint(c.fd, "sys_enter", prog_name=c.name)
        link.pin(path)
        assert os.path.exists(path)
        again = FDLink.from_pin(path)
        assert again.info().id == link.id and again.kind == "raw_tracepoint"
        again.close()
        assert os.path.exists(path)  # closing an opened pin leaves it
        by_id = FDLink.from_id(link.id)
        assert by_id.info().prog_id == link.info().prog_id
        by_id.close()
        link.close()
        assert not os.path.exists(path)  # close removes our pin
        with pytest.raises(LinkError, match="closed"):
            link.info()
    finally:
        c.close()


def test_disconnect_keeps_pinned_link(no_leaks: object) -> None:
    c = Counter(ProgType.RAW_TRACEPOINT, pid=os.getpid(), name="lt_disc")
    path = f"/sys/fs/bpf/pybpf_lt_disc_{os.getpid()}"
    try:
        link = attach_raw_tracepoint(c.fd, "sys_enter", prog_name=c.name)
        link.pin(path)
        link.disconnect()
        before = c.value()
        _getpids()
        assert c.value() - before >= CALLS  # still attached through the pin
        os.unlink(path)  # the last reference: the kernel frees the link asynchronously
        assert _detaches_soon(c)
    finally:
        c.close()


def test_garbage_collection_detaches(no_leaks: object) -> None:
    c = Counter(ProgType.TRACEPOINT, pid=os.getpid(), name="lt_gc")
    try:
        attach_tracepoint(c.fd, "syscalls/sys_enter_getpid")  # dropped at once
        import gc

        gc.collect()
        _getpids()
        assert c.value() == 0
    finally:
        c.close()

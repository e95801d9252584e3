"""FD ownership: close once, context manager, disown, dup, GC close, clear errors."""

from __future__ import annotations

import errno
import gc
import os

import pytest

from pybpf.errors import KernelError
from pybpf.sys.fd import FD


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_close_is_idempotent_and_use_after_close_raises() -> None:
    r, w = os.pipe()
    os.close(w)
    fd = FD(r, "pipe")
    assert fd.fileno() == r and not fd.closed
    assert "pipe" in repr(fd) and str(r) in repr(fd)
    fd.close()
    fd.close()
    assert fd.closed and not _is_open(r)
    assert "closed" in repr(fd)
    with pytest.raises(KernelError) as exc:
        fd.fileno()
    assert exc.value.errno == errno.EBADF
    assert "closed" in str(exc.value)


def test_context_manager_and_gc_close() -> None:
    r, w = os.pipe()
    with FD(r) as fd:
        assert int(fd) == r
    assert not _is_open(r)
    fd2 = FD(w)
    del fd2
    gc.collect()
    assert not _is_open(w)


def test_disown_hands_off_and_dup_is_independent() -> None:
    r, w = os.pipe()
    os.close(w)
    fd = FD(r)
    copy = fd.dup()
    assert copy.fileno() != r
    raw = fd.disown()
    assert raw == r and fd.closed
    del fd
    gc.collect()
    assert _is_open(r)
    os.close(r)
    assert _is_open(copy.fileno())
    copy.close()
    # one verb per act: a link's detach() closes, so an FD has no detach() that disowns
    assert not hasattr(FD, "detach")


def test_fd_zero_is_moved_away() -> None:
    saved = os.dup(0)
    try:
        r, w = os.pipe()
        os.dup2(r, 0)
        os.close(r)
        fd = FD(0)
        assert fd.fileno() != 0
        fd.close()
        os.close(w)
    finally:
        os.dup2(saved, 0)
        os.close(saved)


def test_negative_fd_rejected() -> None:
    with pytest.raises(ValueError):
        FD(-1)

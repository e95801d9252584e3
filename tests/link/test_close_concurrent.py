"""Object.close detaches perf-event links from several threads (the kernel's RCU waits
overlap); every link is closed, fds are released and a failing link does not stop the
others."""

from __future__ import annotations

import os

import pytest

import pybpf
from pybpf.link.base import Link, PerfEventLink, close_links
from pybpf.tools import object_path


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_close_detaches_every_tracepoint_link(kernel: None) -> None:
    before = _fds()
    obj = pybpf.open(object_path("bootstrap"))
    obj.load()
    links = obj.attach()
    assert len(links) == 2 and all(isinstance(lk, PerfEventLink) for lk in links)
    ids = {lk.info().id for lk in links}
    obj.close()
    assert all(lk.closed for lk in links)
    assert _fds() == before
    from pybpf.kernel import introspect

    assert not ids & {lk.id for lk in introspect.links()}


class _Failing(Link):
    def _detach(self) -> None:
        raise RuntimeError("cannot detach")


def test_errors_are_returned_after_every_link_closed(kernel: None) -> None:
    obj = pybpf.open(object_path("bootstrap"))
    obj.load()
    try:
        real = obj.attach()
        bad = _Failing("test")
        todo: list[Link] = [real[0], bad, real[1]]
        errors = close_links(todo)
        assert todo == []
        assert [str(e) for e in errors] == ["cannot detach"]
        assert all(lk.closed for lk in real) and bad.closed
    finally:
        obj.close()


def test_close_links_on_nothing() -> None:
    assert close_links([]) == []


@pytest.mark.parametrize("n", [1, 3])
def test_plain_links_close_last_first(n: int) -> None:
    order: list[int] = []

    class Rec(Link):
        def __init__(self, i: int) -> None:
            super().__init__("test")
            self.i = i

        def _detach(self) -> None:
            order.append(self.i)

    links: list[Link] = [Rec(i) for i in range(n)]
    assert close_links(links) == []
    assert order == list(range(n))[::-1]

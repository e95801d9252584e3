"""Link kinds without a kernel: CallbackLink and LinkGroup lifetimes."""

from __future__ import annotations

import pytest

from pybpf.errors import NotSupportedError
from pybpf.link import CallbackLink, LinkGroup


def test_callback_link_undoes_once() -> None:
    calls: list[str] = []
    link = CallbackLink(lambda: calls.append("undo"), "socket_filter", "lt_prog", "sock")
    assert not link.closed and "socket_filter" in repr(link)
    with link:
        pass
    link.close()
    assert calls == ["undo"] and link.closed
    with pytest.raises(NotSupportedError, match="not a BPF link"):
        CallbackLink(lambda: None, "legacy").update_program(3)


def test_callback_link_detaches_when_collected() -> None:
    calls: list[int] = []
    CallbackLink(lambda: calls.append(1), "legacy")
    import gc

    gc.collect()
    assert calls == [1]


def test_link_group_closes_every_member_even_after_a_failure() -> None:
    calls: list[str] = []

    def boom() -> None:
        calls.append("boom")
        raise RuntimeError("undo failed")

    group = LinkGroup(
        [
            CallbackLink(lambda: calls.append("a"), "x"),
            CallbackLink(boom, "x"),
            CallbackLink(lambda: calls.append("c"), "x"),
        ],
        "perf_event",
    )
    assert len(group) == 3
    with pytest.raises(RuntimeError, match="undo failed"):
        group.close()
    assert calls == ["a", "boom", "c"]
    assert all(link.closed for link in group)
    with pytest.raises(NotSupportedError, match="group"):
        group.info()

"""Misuse of the runtime API gets a typed error that says what to pass: attach() without
the target a hook needs, reading a closed or callback-less reader, and map keys or values
naming unknown or missing fields (which must not write anything)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pybpf.errors import BPFError, KernelError, UsageError

pytestmark = pytest.mark.usefixtures("kernel")


def _load(bpf_obj: Any, name: str, only: tuple[str, ...] = ()) -> Any:
    import pybpf

    obj = pybpf.open(bpf_obj(name))
    if only:
        for n, p in obj.programs.items():
            p.autoload = n in only
    obj.load()
    return obj


@pytest.mark.parametrize(
    ("name", "prog", "wants"),
    [
        ("attach_tracing", "lt_sample", "an open perf event fd"),
        ("net_socket", "nt_sock_filter", "a socket"),
        ("net_tc", "nt_tc_count", "an interface and direction"),
        ("net_tc", "nt_tcx_ingress", "an interface and direction"),
        ("net_xdp", "nt_xdp_count", "an interface"),
        ("net_cgroup", "nt_cg_ingress", "a cgroup v2"),
        ("net_sockmap", "nt_msg_count", "the sockmap/sockhash map"),
    ],
)
def test_attach_without_target(bpf_obj: Any, name: str, prog: str, wants: str) -> None:
    with _load(bpf_obj, name, (prog,)) as obj:
        p = obj.programs[prog]
        with pytest.raises(UsageError) as err:
            p.attach()
        msg = str(err.value)
        assert f"program {prog!r}" in msg and f"attach() needs {wants}" in msg
        assert isinstance(err.value, BPFError) and isinstance(err.value, TypeError)


def test_attach_with_extra_argument(bpf_obj: Any) -> None:
    with (
        _load(bpf_obj, "net_socket", ("nt_sock_filter",)) as obj,
        pytest.raises(UsageError, match=r"attach\(\) needs a socket.*too many positional"),
    ):
        obj.programs["nt_sock_filter"].attach(1, 2, bogus=3)


@pytest.fixture()
def events(bpf_obj: Any) -> Iterator[Any]:
    with _load(bpf_obj, "events_perf") as perf, _load(bpf_obj, "hard_loss") as ring:
        yield perf, ring


@pytest.mark.parametrize("kind", ["ring", "perf"])
@pytest.mark.parametrize("call", ["poll", "consume", "drain", "read", "wait", "iterate"])
def test_reader_after_close(events: Any, kind: str, call: str) -> None:
    perf, ring = events
    r = ring.ringbuf("lossy", print) if kind == "ring" else perf.perfbuf("events", print)
    r.close()
    r.close()  # idempotent
    ops = {
        "poll": lambda: r.poll(0),
        "consume": r.consume,
        "drain": r.drain,
        "read": lambda: r.read(1, 0),
        "wait": lambda: r.wait(0),
        "iterate": lambda: next(iter(r)),
    }
    with pytest.raises(KernelError) as err:
        ops[call]()
    assert "it was closed" in str(err.value) and "open a new reader" in str(err.value)


@pytest.mark.parametrize("kind", ["ring", "perf"])
def test_poll_without_callback(events: Any, kind: str) -> None:
    perf, ring = events
    with ring.ringbuf("lossy") if kind == "ring" else perf.perfbuf("events") as r:
        for op in (r.poll, r.consume):
            with pytest.raises(UsageError, match="callback: pass one to"):
                op()


@pytest.fixture()
def run_obj(bpf_obj: Any) -> Iterator[Any]:
    with _load(bpf_obj, "cli_run") as obj:
        yield obj


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ({"pdi": 1, "comm": b"sh"}, "unknown field pdi and missing field pid"),
        ({"pid": 1}, "missing field comm"),
        ({"pid": 1, "comm": b"sh", "extra": 0}, "unknown field extra"),
        ({}, "missing fields comm, pid"),
    ],
)
def test_map_key_with_wrong_fields(run_obj: Any, key: dict[str, Any], problem: str) -> None:
    m = run_obj.maps["by_key"]
    for op in (
        lambda: m.__setitem__(key, 1),
        lambda: m.lookup(key),
        lambda: m.__delitem__(key),
    ):
        with pytest.raises(UsageError) as err:
            op()
        msg = str(err.value)
        assert "map 'by_key' key" in msg and "struct run_key" in msg and problem in msg
        assert "fields are: pid, comm" in msg
    assert list(m.keys()) == []  # nothing was written under another key
    m[{"pid": 1, "comm": b"sh"}] = 5
    assert [(k.pid, k.comm, v) for k, v in m.items()] == [(1, b"sh", 5)]


def test_map_value_with_unknown_field(events: Any) -> None:
    perf, _ = events
    m = perf.maps["scratch"]  # per-CPU array of struct event
    from pybpf.sys.cpus import num_possible_cpus

    good = {"seq": 7, "words": [0] * 15}
    bad = {"sqe": 7, "words": [0] * 15}
    with pytest.raises(UsageError, match=r"unknown field sqe.*fields are: seq, words"):
        m[0] = [bad] * num_possible_cpus()
    assert all(v.seq == 0 for v in m[0])
    m[0] = [good] * num_possible_cpus()
    assert all(v.seq == 7 for v in m[0])

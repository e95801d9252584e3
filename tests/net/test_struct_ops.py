"""struct_ops: a BPF TCP congestion control registered from the object, used by a socket."""

from __future__ import annotations

import socket
import threading

import pytest

import pybpf
from pybpf.loader.struct_ops import struct_ops_link
from pybpf.uapi.enums import LinkType

AVAILABLE = "/proc/sys/net/ipv4/tcp_available_congestion_control"
TCP_CONGESTION = getattr(socket, "TCP_CONGESTION", 13)


def _available() -> list[str]:
    with open(AVAILABLE) as f:
        return f.read().split()


def _transfer(cc: bytes, nbytes: int) -> str:
    """Send ``nbytes`` over loopback TCP from a client using ``cc``; the client's cc name."""
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        got = []

        def drain() -> None:
            s, _ = ls.accept()
            with s:
                n = 0
                while n < nbytes:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        break
                    n += len(chunk)
                got.append(n)

        t = threading.Thread(target=drain)
        t.start()
        with socket.socket() as c:
            c.setsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, cc)
            c.connect(ls.getsockname())
            c.sendall(b"\0" * nbytes)
            name = c.getsockopt(socket.IPPROTO_TCP, TCP_CONGESTION, 16).rstrip(b"\0").decode()
        t.join(10)
    assert got == [nbytes]
    return name


def test_bpf_congestion_control(bpf_obj, no_leaks: None) -> None:
    assert "pybpf_nt_cc" not in _available()
    with pybpf.load(bpf_obj("net_struct_ops")) as obj:
        assert {"pybpf_nt_cc", "pybpf_nt_cc2"} <= set(_available())
        link = struct_ops_link(obj, "nt_cc")
        assert link.info().type == LinkType.STRUCT_OPS
        assert link.info().details["map_id"] == obj.maps["nt_cc"].id
        with pytest.raises(pybpf.errors.NotSupportedError):
            struct_ops_link(obj, "nt_cc_plain").info()  # registered by map update: no link
        assert _transfer(b"pybpf_nt_cc", 8 << 20) == "pybpf_nt_cc"
        calls = obj.maps["cc_calls"]
        assert calls[0] == 1  # init, once for the client's connection
        assert calls[2] > 0  # cong_avoid while cwnd-limited
        prog = obj.programs["nt_cc_init"]
        assert prog.info().type == pybpf.uapi.enums.ProgType.STRUCT_OPS
    names = _available()
    assert "pybpf_nt_cc" not in names and "pybpf_nt_cc2" not in names


def test_struct_ops_link_closes_on_detach(bpf_obj, no_leaks: None) -> None:
    obj = pybpf.load(bpf_obj("net_struct_ops"))
    try:
        struct_ops_link(obj, "nt_cc").close()
        assert "pybpf_nt_cc" not in _available()
        assert "pybpf_nt_cc2" in _available()
        struct_ops_link(obj, "nt_cc_plain").close()
        assert "pybpf_nt_cc2" not in _available()
    finally:
        obj.close()


def test_unknown_struct_ops_member_is_an_error(bpf_obj, kernel: None) -> None:
    with (
        pytest.raises(pybpf.errors.BPFError, match="not registered"),
        pybpf.load(bpf_obj("net_xdp")) as obj,
    ):
        struct_ops_link(obj, "nt_cc")


def test_missing_mandatory_member(bpf_obj, kernel: None) -> None:
    # spec_struct_ops' plain map lacks cong_avoid, which the kernel requires
    with pytest.raises(pybpf.errors.MapError, match="register struct_ops 'spec_cc_plain'"):
        pybpf.load(bpf_obj("spec_struct_ops"))
    assert "pybpf_spec_cc" not in _available()  # the other map's link was undone

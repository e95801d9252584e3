"""sk_msg / sk_skb programs on sockmaps holding loopback TCP sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from tests.net.conftest import wait_for

import pybpf
from pybpf.link.sockmap import attach_sockmap
from pybpf.uapi.enums import AttachType


@pytest.fixture()
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected loopback TCP pair (client, server side)."""
    with socket.socket() as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        c = socket.create_connection(ls.getsockname())
        s, _ = ls.accept()
    c.settimeout(2)
    s.settimeout(2)
    try:
        yield c, s
    finally:
        c.close()
        s.close()


def _recv(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


@pytest.mark.parametrize("method", ["link", "legacy"])
def test_sk_msg_counts_sent_bytes(tcp_pair, bpf_obj, no_leaks: None, method: str) -> None:
    c, s = tcp_pair
    with pybpf.load(bpf_obj("net_sockmap")) as obj:
        prog = obj.programs["nt_msg_count"]
        smap = obj.maps["msg_socks"]
        with prog.attach(smap, method=method) as link:
            if method == "link":
                assert link.info().prog_id == prog.id
            smap[0] = c.fileno()
            c.sendall(b"a" * 100)
            c.sendall(b"b" * 23)
            assert _recv(s, 123) == b"a" * 100 + b"b" * 23
            assert obj.maps["sm_counts"][0] == 123
            del smap[0]
        c.sendall(b"c" * 10)
        assert _recv(s, 10) == b"c" * 10
        assert obj.maps["sm_counts"][0] == 123


def test_sk_skb_verdict_counts_received_bytes(tcp_pair, bpf_obj, no_leaks: None) -> None:
    c, s = tcp_pair
    with pybpf.load(bpf_obj("net_sockmap")) as obj:
        smap = obj.maps["skb_socks"]
        prog = obj.programs["nt_skb_verdict"]
        with attach_sockmap(
            prog.fd, smap.fd, attach_type=AttachType.SK_SKB_STREAM_VERDICT, prog_name=prog.name
        ):
            smap[0] = s.fileno()
            c.sendall(b"z" * 300)
            assert _recv(s, 300) == b"z" * 300
            assert wait_for(lambda: obj.maps["sm_counts"][1] == 300)
            del smap[0]


def test_sockmap_attach_needs_attach_type(bpf_obj, kernel: None) -> None:
    with pybpf.load(bpf_obj("net_sockmap")) as obj:
        prog = obj.programs["nt_msg_count"]
        with pytest.raises(pybpf.errors.BPFError, match="attach_type"):
            attach_sockmap(prog.fd, obj.maps["msg_socks"])
        with pytest.raises(pybpf.errors.BPFError, match="sockmap"):
            attach_sockmap(prog.fd, obj.maps["msg_socks"], attach_type=AttachType.XDP)

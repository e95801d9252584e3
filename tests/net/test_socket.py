"""Socket filters (SO_ATTACH_BPF) and SO_REUSEPORT selectors on loopback UDP sockets."""

from __future__ import annotations

import socket

import pytest
from tests.net.conftest import receive_all

import pybpf
from pybpf.link.socket import attach_reuseport, attach_socket


def _udp() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.3)
    return s


def test_socket_filter_keeps_only_matching(bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_socket")) as obj, _udp() as rx, _udp() as tx:
        prog = obj.programs["nt_sock_filter"]
        with prog.attach(rx) as link:
            assert link.kind == "socket_filter"
            for msg in (b"Apple", b"banana", b"Avocado", b"cherry"):
                tx.sendto(msg, rx.getsockname())
            assert receive_all(rx) == [b"Apple", b"Avocado"]
            counts = obj.maps["sock_counts"]
            assert (counts[0], counts[1]) == (2, 2)
        tx.sendto(b"banana", rx.getsockname())
        assert receive_all(rx) == [b"banana"]  # detached


def test_socket_filter_by_fd_and_closed_socket(bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_socket")) as obj:
        prog = obj.programs["nt_sock_filter"]
        rx, tx = _udp(), _udp()
        with tx:
            link = attach_socket(prog.fd, rx.fileno(), prog_name=prog.name)
            tx.sendto(b"zzz", rx.getsockname())
            tx.sendto(b"AAA", rx.getsockname())
            assert receive_all(rx) == [b"AAA"]
            rx.close()
            link.close()  # the socket is gone; detaching is quietly done


def test_socket_filter_on_non_socket(bpf_obj, kernel: None) -> None:
    with (
        pybpf.load(bpf_obj("net_socket")) as obj,
        open("/dev/null") as f,
        pytest.raises(pybpf.errors.AttachError),
    ):
        attach_socket(obj.programs["nt_sock_filter"].fd, f.fileno())


def test_reuseport_selects_socket(bpf_obj, no_leaks: None) -> None:
    socks = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.settimeout(0.3)
        socks.append(s)
    try:
        socks[0].bind(("127.0.0.1", 0))
        socks[1].bind(socks[0].getsockname())
        addr = socks[0].getsockname()
        with pybpf.load(bpf_obj("net_socket")) as obj, _udp() as tx:
            arr = obj.maps["reuse_socks"]
            for i, s in enumerate(socks):
                arr[i] = s.fileno()
            with obj.programs["nt_reuseport"].attach(socks[0]):
                for target in (1, 0, 1):
                    obj.maps["sock_config"][0] = target
                    for _ in range(4):
                        tx.sendto(b"x", addr)
                    assert len(receive_all(socks[target])) == 4
                    assert receive_all(socks[1 - target]) == []
                assert obj.maps["sock_counts"][2] == 12
    finally:
        for s in socks:
            s.close()


def test_reuseport_needs_so_reuseport(bpf_obj, kernel: None) -> None:
    with pybpf.load(bpf_obj("net_socket")) as obj, _udp() as s:
        prog = obj.programs["nt_reuseport"]
        with pytest.raises(pybpf.errors.AttachError, match="SO_REUSEPORT") as exc:
            attach_reuseport(prog.fd, s, prog_name=prog.name)
        assert exc.value.errno == 22

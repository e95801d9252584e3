"""Programs on a network namespace: sk_lookup steering and the flow dissector."""

from __future__ import annotations

import socket

import pytest
from tests.net.conftest import NetNS

import pybpf
from pybpf.link.netns import attach_flow_dissector, attach_sk_lookup
from pybpf.sys import progs as sysprogs
from pybpf.uapi.enums import AttachType, LinkType

LISTEN, STEERED = 5304, 5305


def _connect(ns: NetNS, port: int) -> socket.socket:
    def conn() -> socket.socket:
        c = socket.socket()
        c.settimeout(2)
        try:
            c.connect(("127.0.0.1", port))
        except BaseException:
            c.close()
            raise
        return c

    return ns.run(conn)


def test_sk_lookup_steers_to_listener(netns: NetNS, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_sockmap")) as obj, netns.socket(type=socket.SOCK_STREAM) as ls:
        ls.bind(("127.0.0.1", LISTEN))
        ls.listen(4)
        ls.settimeout(2)
        obj.maps["lookup_socks"][0] = ls.fileno()
        obj.maps["sm_config"][0] = STEERED
        with pytest.raises(ConnectionRefusedError):
            _connect(netns, STEERED).close()
        prog = obj.programs["nt_sk_lookup"]
        with prog.attach(netns.path) as link:  # an `ip netns` path; names work too
            assert link.info().type == LinkType.NETNS
            with _connect(netns, STEERED) as c:
                peer, _ = ls.accept()
                with peer:
                    c.sendall(b"via sk_lookup")
                    assert peer.recv(100) == b"via sk_lookup"
                    assert peer.getsockname()[1] == STEERED  # local address of the lookup
            assert obj.maps["sm_counts"][2] == 1
        with pytest.raises(ConnectionRefusedError):
            _connect(netns, STEERED).close()


def test_sk_lookup_current_netns_by_thread(netns: NetNS, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_sockmap")) as obj:
        prog = obj.programs["nt_sk_lookup"]
        link = netns.run(attach_sk_lookup, prog.fd, prog_name=prog.name)  # None: the thread's
        with link:
            info = link.info()
            assert info.details["netns_ino"] == netns.run(_ino)
            assert info.details["attach_type"] == AttachType.SK_LOOKUP


def _ino() -> int:
    import os

    return os.stat("/proc/thread-self/ns/net").st_ino


@pytest.mark.parametrize("method", ["link", "legacy"])
def test_flow_dissector_attach(netns: NetNS, bpf_obj, no_leaks: None, method: str) -> None:
    with pybpf.load(bpf_obj("net_misc")) as obj:
        prog = obj.programs["nt_flow"]
        with open(netns.path) as nsf:
            with attach_flow_dissector(prog.fd, netns.name, method=method, prog_name=prog.name):
                q = sysprogs.prog_query(nsf.fileno(), AttachType.FLOW_DISSECTOR)
                assert q.prog_ids == [prog.id]
            assert sysprogs.prog_query(nsf.fileno(), AttachType.FLOW_DISSECTOR).prog_ids == []


def test_flow_dissector_test_run(bpf_obj, kernel: None) -> None:
    import struct

    eth = b"\x02" * 12 + b"\x08\x00"
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, b"\x0a\0\0\1", b"\x0a\0\0\2")
    udp = struct.pack(">HHHH", 1, 2, 8, 0)
    with pybpf.load(bpf_obj("net_misc")) as obj:
        prog = obj.programs["nt_flow"]
        res = prog.test_run(eth + ip + udp, repeat=3)
        assert res.retval == 2  # BPF_DROP
        assert obj.maps["misc_counts"][1] == 3


def test_netns_errors(bpf_obj, kernel: None) -> None:
    with (
        pybpf.load(bpf_obj("net_sockmap")) as obj,
        pytest.raises(pybpf.errors.KernelError, match="network namespace"),
    ):
        attach_sk_lookup(obj.programs["nt_sk_lookup"].fd, "pybpf_no_such_netns")

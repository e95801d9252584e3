"""cgroup programs: links and BPF_PROG_ATTACH on a test cgroup, exercised by a child
process moved into it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.net.conftest import receive_all, run_in_cgroup

import pybpf
from pybpf.link.cgroup import attach_cgroup, cgroup2_root, cgroup_query
from pybpf.uapi.enums import AttachType, LinkType

PORT = 5303

UDP_LOOP = f"""
import socket
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", {PORT}))
r.settimeout(2)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(5):
    s.sendto(b"x", ("127.0.0.1", {PORT}))
s.sendto(b"x", ("127.0.0.1", {PORT + 1}))
print(sum(1 for _ in range(5) if r.recv(10)))
"""


def test_cgroup2_root_is_found(kernel: None) -> None:
    root = cgroup2_root()
    assert (root / "cgroup.procs").exists()


@pytest.mark.parametrize("method", ["link", "legacy"])
def test_cgroup_skb_counts_ingress_and_egress(
    cgroup: Path, bpf_obj, no_leaks: None, method: str
) -> None:
    with pybpf.load(bpf_obj("net_cgroup")) as obj:
        obj.maps["cg_config"][0] = PORT
        ing, eg = obj.programs["nt_cg_ingress"], obj.programs["nt_cg_egress"]
        with ing.attach(cgroup, method=method) as l1, eg.attach(str(cgroup), method=method):
            q = cgroup_query(cgroup, AttachType.CGROUP_INET_INGRESS)
            assert q.prog_ids == [ing.id]
            if method == "link":
                assert l1.info().type == LinkType.CGROUP and l1.info().prog_id == ing.id
            else:
                with pytest.raises(pybpf.errors.NotSupportedError):
                    l1.info()  # a BPF_PROG_ATTACH attachment is no link object
            assert run_in_cgroup(cgroup, UDP_LOOP) == "5"
            counts = obj.maps["cg_counts"]
            assert (counts[0], counts[1]) == (5, 5)
        assert cgroup_query(cgroup, AttachType.CGROUP_INET_INGRESS).prog_ids == []
        assert cgroup_query(cgroup, AttachType.CGROUP_INET_EGRESS).prog_ids == []
        run_in_cgroup(cgroup, UDP_LOOP)
        assert (obj.maps["cg_counts"][0], obj.maps["cg_counts"][1]) == (5, 5)


def test_cgroup_sock_create_counts_and_refuses(cgroup: Path, bpf_obj, no_leaks: None) -> None:
    code = """
import socket
try:
    for _ in range(3):
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
    print("ok")
except PermissionError:
    print("EPERM")
"""
    with pybpf.load(bpf_obj("net_cgroup")) as obj:
        prog = obj.programs["nt_cg_sock"]
        with prog.attach(cgroup.name):  # relative to the cgroup2 root
            assert run_in_cgroup(cgroup, code) == "ok"
            assert obj.maps["cg_counts"][2] == 3
            obj.maps["cg_config"][1] = 1
            assert run_in_cgroup(cgroup, code) == "EPERM"
        assert run_in_cgroup(cgroup, code) == "ok"  # detached: allowed again
        assert obj.maps["cg_counts"][2] == 4


def test_cgroup_connect4_rewrites_port(cgroup: Path, bpf_obj, no_leaks: None) -> None:
    import socket

    code = f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", {PORT}))
s.send(b"steered")
"""
    with pybpf.load(bpf_obj("net_cgroup")) as obj:
        obj.maps["cg_config"][2] = PORT
        obj.maps["cg_config"][3] = PORT + 10
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
            rx.bind(("127.0.0.1", PORT + 10))
            rx.settimeout(1)
            with obj.programs["nt_cg_connect4"].attach(cgroup):
                run_in_cgroup(cgroup, code)
                assert receive_all(rx) == [b"steered"]
                assert obj.maps["cg_counts"][3] == 1
            run_in_cgroup(cgroup, code)  # detached: goes to PORT, where nobody listens
            rx.settimeout(0.2)
            assert receive_all(rx) == []


def test_cgroup_errors(cgroup: Path, bpf_obj, kernel: None) -> None:
    with pybpf.load(bpf_obj("net_cgroup")) as obj:
        prog = obj.programs["nt_cg_ingress"]
        with pytest.raises(pybpf.errors.AttachError, match="open cgroup"):
            prog.attach(cgroup / "missing")
        with pytest.raises(pybpf.errors.BPFError, match="attach_type"):
            attach_cgroup(prog.fd, cgroup)

"""XDP: links and netlink attachment on a veth in a netns, real UDP traffic, test runs."""

from __future__ import annotations

import struct

import pytest
from tests.net.conftest import Veth, receive_all, wait_for

import pybpf
from pybpf.errors import AttachError
from pybpf.link.xdp import attach_xdp, xdp_query

PORT = 5301


@pytest.mark.parametrize("method", ["link", "netlink"])
def test_xdp_counts_packets(veth: Veth, bpf_obj, no_leaks: None, method: str) -> None:
    with pybpf.load(bpf_obj("net_xdp")) as obj:
        obj.maps["xdp_config"][0] = PORT
        prog = obj.programs["nt_xdp_count"]
        link = veth.b.run(attach_xdp, prog.fd, veth.dev_b, method=method, prog_name=prog.name)
        with link, veth.receiver(PORT) as rx:
            state = veth.b.run(xdp_query, veth.dev_b)
            assert state.prog_id == prog.id
            veth.send_udp(PORT, 7)
            veth.send_udp(PORT + 1, 3)  # other port: not counted
            assert len(receive_all(rx)) == 7  # XDP_PASS lets them through
            assert wait_for(lambda: obj.maps["xdp_counts"][0] == 7)
        assert veth.b.run(xdp_query, veth.dev_b).prog_id == 0
        veth.send_udp(PORT, 2)
        assert obj.maps["xdp_counts"][0] == 7  # detached: no more counting


def test_xdp_drop(veth: Veth, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_xdp")) as obj:
        obj.maps["xdp_config"][0] = PORT
        prog = obj.programs["nt_xdp_drop"]
        with veth.receiver(PORT) as rx:
            with veth.b.run(prog.attach, veth.dev_b, mode="skb"):
                assert veth.b.run(xdp_query, veth.dev_b).skb_prog_id == prog.id
                veth.send_udp(PORT, 5)
                assert receive_all(rx) == []
                assert wait_for(lambda: obj.maps["xdp_counts"][1] == 5)
            veth.send_udp(PORT, 2)
            assert len(receive_all(rx)) == 2


def test_xdp_second_program_is_refused(veth: Veth, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_xdp")) as obj:
        a, b = obj.programs["nt_xdp_count"], obj.programs["nt_xdp_drop"]
        with veth.b.run(a.attach, veth.dev_b):
            with pytest.raises(AttachError) as exc:
                veth.b.run(b.attach, veth.dev_b)
            assert exc.value.errno == 16  # EBUSY
            assert "another XDP program" in str(exc.value)


def test_xdp_link_update_program(veth: Veth, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_xdp")) as obj:
        obj.maps["xdp_config"][0] = PORT
        count, drop = obj.programs["nt_xdp_count"], obj.programs["nt_xdp_drop"]
        with veth.b.run(count.attach, veth.dev_b) as link, veth.receiver(PORT) as rx:
            link.update_program(drop.fd)
            assert veth.b.run(xdp_query, veth.dev_b).prog_id == drop.id
            veth.send_udp(PORT, 3)
            assert receive_all(rx) == []
            assert link.info().prog_id == drop.id


def test_xdp_link_conditional_update_and_force_detach(veth: Veth, bpf_obj, no_leaks: None) -> None:
    from pybpf.errors import LinkError

    with pybpf.load(bpf_obj("net_xdp")) as obj:
        count, drop = obj.programs["nt_xdp_count"], obj.programs["nt_xdp_drop"]
        with veth.b.run(count.attach, veth.dev_b) as link:
            with pytest.raises(LinkError, match="update link program") as exc:
                link.update_program(count.fd, old_prog_fd=drop.fd)  # drop is not attached
            assert exc.value.errno == 1  # EPERM: the old program does not match
            assert link.info().prog_id == count.id
            link.update_program(drop.fd, old_prog_fd=count.fd)
            assert veth.b.run(xdp_query, veth.dev_b).prog_id == drop.id
            link.force_detach()
            assert veth.b.run(xdp_query, veth.dev_b).prog_id == 0
            assert not link.closed  # the fd stays open, the hook is empty


def test_xdp_unknown_interface(bpf_obj, kernel: None) -> None:
    with (
        pybpf.load(bpf_obj("net_xdp")) as obj,
        pytest.raises(pybpf.errors.KernelError, match="nonexistent0"),
    ):
        obj.programs["nt_xdp_count"].attach("nonexistent0")
    with pytest.raises(ValueError, match="XDP mode"):
        attach_xdp(0, 1, mode="turbo")


def _frame(dst: bytes, src: bytes, payload: bytes) -> bytes:
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 0, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))  # fmt: skip
    udp = struct.pack(">HHHH", 1234, PORT, 8 + len(payload), 0)
    return dst + src + b"\x08\x00" + ip + udp + payload


def test_xdp_test_run(bpf_obj, kernel: None) -> None:
    dst, src = bytes.fromhex("020000000002"), bytes.fromhex("020000000001")
    pkt = _frame(dst, src, b"hello")
    with pybpf.load(bpf_obj("net_xdp")) as obj:
        res = obj.programs["nt_xdp_swap"].test_run(pkt)
        assert res.retval == 3  # XDP_TX
        assert res.data_out == src + dst + pkt[12:]
        assert obj.programs["nt_xdp_swap"].test_run(b"\0" * 14).retval == 3
        obj.maps["xdp_config"][0] = PORT
        drop = obj.programs["nt_xdp_drop"]
        assert drop.test_run(pkt).retval == 1  # XDP_DROP
        other = (
            _frame(dst, src, b"x")[:36] + struct.pack(">H", PORT + 1) + _frame(dst, src, b"x")[38:]
        )
        assert drop.test_run(other).retval == 2  # XDP_PASS
        assert drop.test_run(pkt, repeat=10).retval == 1
        assert obj.maps["xdp_counts"][1] == 11

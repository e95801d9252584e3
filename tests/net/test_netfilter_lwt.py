"""netfilter links in a fresh netns, and lwt routes on a veth, counting real packets."""

from __future__ import annotations

import pytest
from tests.net.conftest import IP_B, NetNS, Veth, receive_all, wait_for

import pybpf
from pybpf.link.lwt import attach_lwt
from pybpf.link.netfilter import attach_netfilter
from pybpf.uapi.enums import LinkType

PORT = 5306


def _kernel_has_netfilter_links() -> bool:
    import gzip

    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            return "CONFIG_NETFILTER_BPF_LINK=y" in f.read()
    except OSError:
        return True  # unknown: the attach itself decides


def test_netfilter_counts_local_in(netns: NetNS, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_misc")) as obj:
        prog = obj.programs["nt_nf_count"]
        if not _kernel_has_netfilter_links():
            with pytest.raises(pybpf.errors.NotSupportedError, match="netfilter"):
                netns.run(prog.attach, "ipv4", "local_in", 10)
            return
        with netns.socket() as rx, netns.socket() as tx:
            rx.bind(("127.0.0.1", PORT))
            rx.settimeout(0.3)
            with netns.run(prog.attach, "ipv4", "local_in", 10) as link:
                info = link.info()
                assert info.type == LinkType.NETFILTER
                assert (info.details["pf"], info.details["hooknum"]) == (2, 1)
                assert info.details["priority"] == 10
                for _ in range(5):
                    tx.sendto(b"x", ("127.0.0.1", PORT))
                assert len(receive_all(rx)) == 5
                assert wait_for(lambda: obj.maps["misc_counts"][0] == 5)
            tx.sendto(b"x", ("127.0.0.1", PORT))
            assert len(receive_all(rx)) == 1
            assert obj.maps["misc_counts"][0] == 5


def test_netfilter_bad_arguments(bpf_obj, kernel: None) -> None:
    with pybpf.load(bpf_obj("net_misc")) as obj:
        prog = obj.programs["nt_nf_count"]
        with pytest.raises(ValueError, match="hook"):
            attach_netfilter(prog.fd, "ipv4", "sideways")
        with pytest.raises(pybpf.errors.AttachError):  # INT_MIN is reserved by netfilter
            attach_netfilter(prog.fd, "ipv4", "local_in", -(2**31))


def test_lwt_xmit_route(veth: Veth, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_misc")) as obj:
        prog = obj.programs["nt_lwt_xmit"]
        veth.b.ip("addr", "add", "10.12.0.5/32", "dev", veth.dev_b)
        with veth.b.socket() as rx:
            rx.bind(("10.12.0.5", PORT))
            rx.settimeout(0.3)
            with veth.a.run(prog.attach, "10.12.0.0/24", veth.dev_a, gateway=IP_B) as link:
                assert "lwt xmit" in link.target
                assert "encap bpf" in veth.a.ip("route", "show", "10.12.0.0/24")
                with veth.a.socket() as tx:
                    for _ in range(3):
                        tx.sendto(b"x", ("10.12.0.5", PORT))
                assert len(receive_all(rx)) == 3  # BPF_OK: delivered as routed
                assert wait_for(lambda: obj.maps["misc_counts"][2] == 3)
            assert veth.a.ip("route", "show", "10.12.0.0/24").strip() == ""
        with pytest.raises(pybpf.errors.AttachError, match="lwt"):  # unreachable gateway
            veth.a.run(attach_lwt, prog.fd, "10.13.0.0/24", veth.dev_a, gateway="10.99.0.1")
        assert veth.a.ip("route", "show", "10.13.0.0/24").strip() == ""

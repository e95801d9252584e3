"""tc: tcx links (with ordering) and netlink cls_bpf filters on a veth, real packets."""

from __future__ import annotations

import pytest
from tests.net.conftest import Veth, receive_all, wait_for

import pybpf
from pybpf.link.tc import attach_tc, attach_tcx, tc_filters, tc_qdiscs, tcx_query
from pybpf.uapi.enums import LinkType

PORT = 5302


def test_tcx_ingress_and_egress(veth: Veth, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_tc")) as obj:
        obj.maps["tc_config"][0] = PORT
        counts = obj.maps["tc_counts"]
        ing, eg = obj.programs["nt_tcx_ingress"], obj.programs["nt_tcx_egress"]
        # the section names the direction: tcx/ingress on b, tcx/egress on a
        with veth.b.run(ing.attach, veth.dev_b) as l1, veth.a.run(eg.attach, veth.dev_a) as l2:
            assert veth.b.run(tcx_query, veth.dev_b, "ingress").prog_ids == [ing.id]
            assert veth.a.run(tcx_query, veth.dev_a, "egress").link_ids == [l2.id]
            assert l1.info().type == LinkType.TCX
            with veth.receiver(PORT) as rx:
                veth.send_udp(PORT, 6)
                assert len(receive_all(rx)) == 6
            assert wait_for(lambda: counts[0] == 6 and counts[1] == 6)
        assert veth.b.run(tcx_query, veth.dev_b, "ingress").prog_ids == []
        assert veth.a.run(tcx_query, veth.dev_a, "egress").prog_ids == []


def test_tcx_ordering(veth: Veth, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_tc")) as obj:
        first, second = obj.programs["nt_tcx_ingress"], obj.programs["nt_tcx_second"]
        dev = veth.dev_b
        with veth.b.run(first.attach, dev) as l1:
            with veth.b.run(second.attach, dev, before=l1):
                assert veth.b.run(tcx_query, dev).prog_ids == [second.id, first.id]
            with veth.b.run(second.attach, dev, after=first):
                assert veth.b.run(tcx_query, dev).prog_ids == [first.id, second.id]
            with veth.b.run(second.attach, dev, before=True):
                assert veth.b.run(tcx_query, dev).prog_ids == [second.id, first.id]
            rev = veth.b.run(tcx_query, dev).revision
            with pytest.raises(pybpf.errors.AttachError):  # stale expected revision
                veth.b.run(second.attach, dev, expected_revision=rev + 5)
        assert veth.b.run(tcx_query, dev).prog_ids == []


def test_tc_netlink_filter_counts_and_cleans_up(veth: Veth, bpf_obj, no_leaks: None) -> None:
    dev = veth.dev_b
    assert "clsact" not in veth.b.run(tc_qdiscs, dev)
    with pybpf.load(bpf_obj("net_tc")) as obj:
        obj.maps["tc_config"][0] = PORT
        prog = obj.programs["nt_tc_count"]
        with veth.b.run(prog.attach, dev, direction="ingress") as link:  # SEC("tc"): netlink
            assert link.kind == "tc"
            assert "clsact" in veth.b.run(tc_qdiscs, dev)
            (flt,) = veth.b.run(tc_filters, dev, "ingress")
            assert flt.kind == "bpf" and flt.direct_action and flt.prog_id == prog.id
            assert flt.name == "nt_tc_count"
            with veth.receiver(PORT) as rx:
                veth.send_udp(PORT, 4)
                assert len(receive_all(rx)) == 4
            assert wait_for(lambda: obj.maps["tc_counts"][2] == 4)
        assert veth.b.run(tc_filters, dev, "ingress") == []
        assert "clsact" not in veth.b.run(tc_qdiscs, dev)


def test_tc_netlink_drop_and_shared_qdisc(veth: Veth, bpf_obj, no_leaks: None) -> None:
    dev = veth.dev_b
    with pybpf.load(bpf_obj("net_tc")) as obj:
        obj.maps["tc_config"][0] = PORT
        drop, count = obj.programs["nt_tc_drop"], obj.programs["nt_tc_count"]
        with veth.receiver(PORT) as rx:
            l1 = veth.b.run(attach_tc, drop.fd, dev, prog_name=drop.name)
            l2 = veth.b.run(attach_tc, count.fd, dev, direction="egress", prog_name=count.name)
            veth.send_udp(PORT, 3)
            assert receive_all(rx) == []
            assert wait_for(lambda: obj.maps["tc_counts"][3] == 3)
            l1.close()  # the qdisc stays: l2 still filters on it
            assert "clsact" in veth.b.run(tc_qdiscs, dev)
            assert veth.b.run(tc_filters, dev, "ingress") == []
            assert len(veth.b.run(tc_filters, dev, "egress")) == 1
            veth.send_udp(PORT, 2)
            assert len(receive_all(rx)) == 2
            l2.close()
        assert "clsact" not in veth.b.run(tc_qdiscs, dev)


def test_tc_keeps_a_foreign_qdisc(veth: Veth, bpf_obj, no_leaks: None) -> None:
    veth.b.ip("link", "set", veth.dev_b, "up")
    from tests.net.conftest import sh

    sh("tc", "-n", veth.b.name, "qdisc", "add", "dev", veth.dev_b, "clsact")
    with pybpf.load(bpf_obj("net_tc")) as obj:
        prog = obj.programs["nt_tc_count"]
        with veth.b.run(attach_tc, prog.fd, veth.dev_b, priority=7, prog_name=prog.name) as link:
            (flt,) = veth.b.run(tc_filters, veth.dev_b, "ingress")
            assert flt.priority == 7 and "prio 7" in link.target
        assert "clsact" in veth.b.run(tc_qdiscs, veth.dev_b)  # not ours: left alone
        assert veth.b.run(tc_filters, veth.dev_b, "ingress") == []


def test_tcx_link_method_only(veth: Veth, bpf_obj, no_leaks: None) -> None:
    with pybpf.load(bpf_obj("net_tc")) as obj:
        prog = obj.programs["nt_tcx_egress"]
        with veth.a.run(attach_tcx, prog.fd, veth.dev_a, direction="egress", method="link") as link:
            assert link.kind == "tcx" and link.target.endswith("egress")


def test_netkit_on_veth_is_a_clear_error(veth: Veth, bpf_obj, no_leaks: None) -> None:
    from pybpf.link.tc import attach_netkit

    with pybpf.load(bpf_obj("net_tc")) as obj:
        prog = obj.programs["nt_tcx_ingress"]
        with pytest.raises((pybpf.errors.NotSupportedError, pybpf.errors.AttachError)) as exc:
            veth.b.run(attach_netkit, prog.fd, veth.dev_b)
        assert "netkit" in str(exc.value)

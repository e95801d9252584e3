"""Kernel matrix: tc programs on a veth, tcx links (6.6+) or, before, netlink cls_bpf on a
clsact qdisc through the automatic fallback; a tcx-only attach gives the clear error."""

from __future__ import annotations

import pytest
from tests.net.conftest import Veth, receive_all, wait_for

import pybpf
from pybpf.errors import NotSupportedError
from pybpf.link.tc import attach_tcx, tc_filters
from pybpf.sys.kversions import before

PORT = 5304

pytestmark = pytest.mark.matrix


def test_tc_auto_attach_is_tcx_or_netlink(veth: Veth, bpf_obj, no_leaks: None) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("net_tc")) as obj:
        obj.maps["tc_config"][0] = PORT
        prog = obj.programs["nt_tcx_ingress"]
        with veth.b.run(prog.attach, veth.dev_b) as link:
            if before("6.6"):
                assert link.kind == "tc"  # the fallback: cls_bpf on clsact
                (flt,) = veth.b.run(tc_filters, veth.dev_b, "ingress")
                assert flt.prog_id == prog.id and flt.direct_action
            else:
                assert link.kind == "tcx"
                assert veth.b.run(tc_filters, veth.dev_b, "ingress") == []
            with veth.receiver(PORT) as rx:
                veth.send_udp(PORT, 3)
                assert len(receive_all(rx)) == 3
            assert wait_for(lambda: obj.maps["tc_counts"][0] == 3)
        assert veth.b.run(tc_filters, veth.dev_b, "ingress") == []


def test_tcx_link_only(veth: Veth, bpf_obj, no_leaks: None) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("net_tc")) as obj:
        prog = obj.programs["nt_tcx_egress"]
        if before("6.6"):
            with pytest.raises(NotSupportedError) as exc:
                veth.a.run(attach_tcx, prog.fd, veth.dev_a, direction="egress", method="link")
            assert exc.value.min_kernel == "6.6" and "tcx" in str(exc.value)
            return
        with veth.a.run(attach_tcx, prog.fd, veth.dev_a, direction="egress", method="link") as lk:
            assert lk.kind == "tcx"

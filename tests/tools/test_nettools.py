"""pybpf-netrx and pybpf-xdpmon end to end: real packets over a veth pair in a netns."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from netns import VethPair
from toolproc import ToolProcess, tool_link_ids

import pybpf

pytestmark = pytest.mark.usefixtures("kernel")

TIME = r"\d\d:\d\d:\d\d"


def test_netrx_shows_packets_on_a_device(run_tool, veth: VethPair) -> None:  # type: ignore[no-untyped-def]
    tool = run_tool("netrx", "-i", veth.host)
    assert (
        tool.wait_for(lambda s: s.startswith("TIME")) == "TIME     DEVICE              LEN CPU  SKB"
    )
    links = tool_link_ids({"netif_receive_skb_tp"})
    assert links
    # 100-byte UDP payloads: skb->len at netif_receive_skb is the IP packet, 128 bytes
    pat = re.compile(rf"^{TIME} {veth.host:<16} {128:>6} +\d+  0x[0-9a-f]+$")
    deadline = time.monotonic() + 10
    while not any(pat.match(s) for s in tool.snapshot()):
        assert time.monotonic() < deadline, tool.snapshot()
        veth.send_from_peer(5, size=100)
        time.sleep(0.3)
    # the device filter runs in BPF: nothing from other devices
    veth.send_to_peer(5, size=100)
    time.sleep(0.5)
    for line in tool.snapshot()[1:]:
        assert line.split()[1] == veth.host, line
    assert tool.stop() == 0
    assert not links & tool_link_ids({"netif_receive_skb_tp"})


def _attach_xdp(obj: pybpf.Object, prog: str, dev: str, pin: Path) -> None:
    obj.programs[prog].pin(pin)
    subprocess.run(
        ["ip", "link", "set", "dev", dev, "xdpgeneric", "pinned", str(pin)],
        check=True,
        capture_output=True,
    )


def _detach_xdp(dev: str, pin: Path) -> None:
    subprocess.run(["ip", "link", "set", "dev", dev, "xdpgeneric", "off"], capture_output=True)
    pin.unlink(missing_ok=True)


def _wait_row(
    tool: ToolProcess, pat: re.Pattern[str], traffic: VethPair, timeout: float = 15
) -> str:
    deadline = time.monotonic() + timeout
    while True:
        for line in tool.snapshot():
            if pat.match(line):
                return line
        assert time.monotonic() < deadline, "\n".join(tool.snapshot()[-30:])
        traffic.send_from_peer(20)
        time.sleep(0.3)


def test_xdpmon_counts_exceptions_and_redirects(run_tool, veth: VethPair, bpf_obj) -> None:  # type: ignore[no-untyped-def]
    tool = run_tool("xdpmon", "1")
    tool.wait_for(lambda s: s.startswith("Monitoring XDP tracepoints"))
    pin = Path(f"/sys/fs/bpf/pybpf_xdpmon_test_{os.getpid()}")
    with pybpf.open(bpf_obj("tools_xdp")) as obj:
        obj.globals["target_ifindex"] = veth.ifindex()
        obj.load()
        try:
            _attach_xdp(obj, "xdp_abort", veth.host, pin)
            row = _wait_row(
                tool, re.compile(r"^Exception +total +0 +([1-9]\d*) +XDP_ABORTED$"), veth
            )
            assert int(row.split()[3]) > 0
        finally:
            _detach_xdp(veth.host, pin)
        try:
            _attach_xdp(obj, "xdp_redirect_to", veth.host, pin)
            _wait_row(tool, re.compile(r"^XDP_REDIRECT +total +([1-9]\d*) +0 +Success$"), veth)
        finally:
            _detach_xdp(veth.host, pin)
    lines = tool.snapshot()
    assert "XDP-event       CPU:to  pps          drop-pps     extra-info" in lines
    assert tool.stop() == 0

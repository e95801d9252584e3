"""Kernel matrix: ``pybpf-hist --kprobe`` (a kprobe on ksys_write) shows real write sizes
where the kernel has kprobes and gives the one-line clear error where it has none."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pybpf.sys import features

pytestmark = [pytest.mark.matrix, pytest.mark.usefixtures("kernel")]


def test_hist_kprobe_shows_write_sizes(run_tool) -> None:  # type: ignore[no-untyped-def]
    if not features.has_kprobes():
        proc = subprocess.run(
            [sys.executable, "-m", "pybpf.tools.hist", "--kprobe"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1 and proc.stdout == ""
        assert "CONFIG_KPROBES" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        return
    tool = run_tool("hist", "--kprobe", "--cumulative", "0.5")
    assert "kprobe:ksys_write" in tool.wait_for(lambda s: s.startswith("Tracing"), timeout=120)
    dd = subprocess.run(
        ["dd", "if=/dev/zero", "of=/dev/null", "bs=4096", "count=50"], capture_output=True
    )
    assert dd.returncode == 0
    head = tool.wait_for(lambda s: s.startswith("pid = ") and s.endswith(" comm = dd"), 60)
    assert re.fullmatch(r"pid = \d+ uid = 0 comm = dd", head)
    full = "      4096 -> 8191       : 50       |****************************************|"
    tool.wait_for(lambda s: s == full, 60)
    assert tool.stop() == 0

"""``pybpf ... | head`` and ``pybpf-<tool> | head``: when stdout's reader goes away the
command exits quietly with the status of a SIGPIPE death (141), like standard tools."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from pybpf.cli._epipe import EPIPE_STATUS


def _closed_early(cmd: list[str], after: Any = None) -> tuple[int, str]:
    """Run ``cmd``, read one line of its stdout, close the pipe, run ``after``; returns
    (status, stderr)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.readline()
    p.stdout.close()
    if after is not None:
        deadline = time.monotonic() + 20
        while p.poll() is None and time.monotonic() < deadline:
            after()
            time.sleep(0.05)
    err = p.stderr.read()
    return p.wait(30), err


def test_cli_verb_into_closed_pipe_is_quiet() -> None:
    rc, err = _closed_early(
        [sys.executable, "-m", "pybpf", "btf", "dump", "/sys/kernel/btf/vmlinux"]
    )
    assert (rc, err) == (EPIPE_STATUS, "")


@pytest.mark.usefixtures("kernel")
def test_run_into_closed_pipe_is_quiet(bpf_obj: Any) -> None:
    cmd = [sys.executable, "-m", "pybpf", "run", str(bpf_obj("hard_loss")), "--duration", "20"]
    cmd += ["--set", f"target_pid={os.getpid()}", "--set", "burst=50"]
    rc, err = _closed_early(cmd, after=lambda: os.getsid(0))
    assert (rc, err) == (EPIPE_STATUS, "")


@pytest.mark.usefixtures("kernel")
def test_tool_into_closed_pipe_is_quiet(tmp_path: Any) -> None:
    target = tmp_path / "opened"
    target.write_text("")

    def opens() -> None:
        for _ in range(50):
            os.close(os.open(target, os.O_RDONLY))

    cmd = [sys.executable, "-m", "pybpf.tools.opensnoop", "-p", str(os.getpid())]
    rc, err = _closed_early(cmd, after=opens)
    assert (rc, err) == (EPIPE_STATUS, "")

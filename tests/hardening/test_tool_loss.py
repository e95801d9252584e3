"""A tool reports the events its ring lost: opensnoop, stopped while a child opens a file
20,000 times, prints "N events lost" at exit and the counts add up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

pytestmark = pytest.mark.usefixtures("kernel")

OPENS = 20_000
CHILD = """
import os, sys
print(os.getpid(), flush=True)
path = sys.argv[1]
sys.stdin.readline()
for _ in range({n}):
    os.close(os.open(path, os.O_RDONLY))
print("done", flush=True)
sys.stdin.readline()
"""


def test_opensnoop_reports_lost_events() -> None:
    with tempfile.NamedTemporaryFile(prefix=f"hr_open_{os.getpid()}_") as target:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD.format(n=OPENS), target.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        pid = int(child.stdout.readline())
        tool = subprocess.Popen(
            [sys.executable, "-u", "-m", "pybpf.tools.opensnoop", "-p", str(pid)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert tool.stdout is not None
            assert "PID" in tool.stdout.readline()  # the header: attached and reading
            os.kill(tool.pid, signal.SIGSTOP)  # the reader stops: the 1 MiB ring fills up
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "done"
            os.kill(tool.pid, signal.SIGCONT)
            lines: list[str] = []
            reader = threading.Thread(target=lambda: lines.extend(tool.stdout or ()), daemon=True)
            reader.start()  # keep the pipe drained: the tool must not block in print()
            seen = -1
            while seen != len(lines):  # until the tool printed all it had
                seen = len(lines)
                time.sleep(1)
            tool.send_signal(signal.SIGTERM)
            _, err = tool.communicate(timeout=60)
            reader.join(10)
        finally:
            if tool.poll() is None:
                tool.kill()
                tool.wait()
            child.stdin.write("\n")
            child.stdin.flush()
            child.wait(10)
    assert tool.returncode == 0, err
    delivered = sum(line.split()[0] == str(pid) for line in lines if line.strip())
    # (the path can be missing from a line: bpf_probe_read_user_str may fault)
    m = re.search(r"pybpf-opensnoop: (\d+) events lost", err)
    assert m, err
    lost = int(m.group(1))
    assert lost > 0 and delivered > 0
    assert delivered + lost == OPENS

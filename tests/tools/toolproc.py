"""Run a tool as a subprocess and watch its output lines; find its BPF links."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

import pytest

from pybpf.kernel import introspect

__all__ = ["ToolProcess", "own_pid", "tool_link_ids"]


class ToolProcess:
    """A running tool (``python -m pybpf.tools.<name>``) whose stdout lines are collected."""

    def __init__(self, module: str, args: Sequence[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", f"pybpf.tools.{module}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = ""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def snapshot(self) -> list[str]:
        """The lines printed so far."""
        with self._lock:
            return list(self.lines)

    def wait_for(self, pred: Callable[[str], bool], timeout: float = 10.0) -> str:
        """The first line satisfying ``pred`` (fails the test after ``timeout`` seconds)."""
        timeout *= float(os.environ.get("PYBPF_TIMEOUT_SCALE", "1"))  # slow VMs (vmtest.sh)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.snapshot():
                if pred(line):
                    return line
            if self.proc.poll() is not None:
                self._reader.join(2)
                for line in self.snapshot():
                    if pred(line):
                        return line
                err = self.proc.stderr.read() if self.proc.stderr else ""
                pytest.fail(f"tool exited ({self.proc.returncode}) early: {err}\n{self.snapshot()}")
            time.sleep(0.05)
        pytest.fail(
            f"no matching line within {timeout}s; output:\n" + "\n".join(self.snapshot()[-40:])
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send ``sig`` and wait for the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout * float(os.environ.get("PYBPF_TIMEOUT_SCALE", "1")))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("tool did not stop on the signal")
        self._reader.join(5)
        self.stderr = self.proc.stderr.read() if self.proc.stderr else ""
        return rc

    def close(self) -> None:
        """Kill the tool if it still runs (test cleanup)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


def tool_link_ids(prog_names: set[str]) -> set[int]:
    """Ids of the BPF links whose program has one of ``prog_names`` (names are truncated
    to 15 characters by the kernel)."""
    names = {n[:15] for n in prog_names}
    progs = {p.id for p in introspect.programs() if p.name in names}
    return {link.id for link in introspect.links() if link.prog_id in progs}


def own_pid() -> int:
    """This test process's pid (the parent of what it spawns)."""
    return os.getpid()

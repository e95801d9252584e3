"""Run ``pybpf export`` as a subprocess on a free loopback port and scrape it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ExporterProcess", "free_port", "samples"]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition text: {(name, labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


class ExporterProcess:
    """``python -m pybpf export CONFIG --listen 127.0.0.1:PORT``; stderr is collected."""

    def __init__(self, config: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.listen = f"127.0.0.1:{self.port}"
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + full_env.get("PYTHONPATH", "")
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pybpf", "export", config, "--listen", self.listen, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
        )
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def stderr(self) -> str:
        """What the exporter logged so far."""
        with self._lock:
            return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 30.0, start: int = 0) -> None:
        """Wait until a log line (from line ``start`` on) contains ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if any(text in line for line in self.lines[start:]):
                    return
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise AssertionError(f"exporter exited ({self.proc.returncode}):\n{self.stderr}")
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} from the exporter in {timeout} s:\n{self.stderr}")

    def started(self) -> ExporterProcess:
        """Wait for the 'serving' line."""
        self.wait_for("serving http://")
        return self

    def metrics(self) -> str:
        """One scrape of /metrics."""
        with urllib.request.urlopen(f"http://{self.listen}/metrics", timeout=20) as r:
            return str(r.read().decode())

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """One scrape, parsed."""
        return samples(self.metrics())

    def send(self, sig: int) -> None:
        """Send ``sig`` to the exporter."""
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Stop with ``sig``; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(2)
        return rc

    def close(self) -> None:
        """Kill it if still running; close the pipes (the per-test fd check sees them)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(2)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def run_n(argv: Sequence[str], n: int) -> None:
    """Run a command ``n`` times (each a fresh exec)."""
    for _ in range(n):
        subprocess.run(list(argv), check=True)

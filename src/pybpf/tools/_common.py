"""What every tool shares: root check, clean exit on Ctrl-C/SIGTERM, one-line errors."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Protocol

from pybpf.errors import BPFError

__all__ = ["comm_str", "poll_loop", "report_lost", "run_tool", "stop_on_signals"]


class _Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT handlers."""


def stop_on_signals() -> None:
    """Turn SIGINT and SIGTERM into a clean stop of the main loop."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def run_tool(name: str, body: Callable[[], int]) -> int:
    """Run a tool's body: stops cleanly on signals, prints pybpf errors as one line."""
    if os.geteuid() != 0:
        print(f"{name}: needs root (CAP_BPF and CAP_PERFMON) to load BPF programs", file=sys.stderr)
        return 1
    stop_on_signals()
    try:
        rc = body()
        sys.stdout.flush()
        return rc
    except _Stop:
        return 0
    except BPFError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        hint = getattr(exc, "hint", None)
        if hint and hint not in str(exc):
            print(f"hint: {hint}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        from pybpf.cli._epipe import closed_pipe_exit

        return closed_pipe_exit()


class _Pollable(Protocol):
    def poll(self, timeout_ms: int = ...) -> int: ...

    @property
    def lost(self) -> int: ...


def report_lost(name: str, reader: _Pollable) -> int:
    """Print "N events lost" on stderr when the reader's ring lost records; returns N."""
    n = int(reader.lost)
    if n:
        print(f"{name}: {n} events lost", file=sys.stderr, flush=True)
    return n


def poll_loop(reader: _Pollable, duration: float | None = None, name: str = "") -> int:
    """Poll ``reader`` (a ring or perf buffer) until a signal, or for ``duration`` seconds,
    then say how many events it lost, if any."""
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while deadline is None or time.monotonic() < deadline:
            reader.poll(100)
    finally:
        with contextlib.suppress(BPFError, OSError):
            reader.poll(0)  # what was still queued
        with contextlib.suppress(BPFError, OSError):
            report_lost(name or os.path.basename(sys.argv[0]), reader)
    return 0


def comm_str(raw: bytes) -> str:
    """A task's comm (or any C string) as text."""
    return raw.split(b"\0", 1)[0].decode(errors="replace")

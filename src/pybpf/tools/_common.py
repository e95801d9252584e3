"""What every tool shares: root check, clean exit on Ctrl-C/SIGTERM, one-line errors."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

from pybpf.errors import BPFError

__all__ = ["run_tool", "stop_on_signals"]


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
        return body()
    except _Stop:
        return 0
    except BPFError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0

"""Quiet exit when the reader of stdout goes away (``pybpf ... | head``), as standard
tools do: no "Broken pipe" error, no traceback, the status of a SIGPIPE death."""

from __future__ import annotations

import os
import sys

__all__ = ["EPIPE_STATUS", "closed_pipe_exit"]

EPIPE_STATUS = 128 + 13  # what a shell reports for a command killed by SIGPIPE


def closed_pipe_exit() -> int:
    """Point stdout at /dev/null (so the final flush at exit cannot fail again) and
    return :data:`EPIPE_STATUS`. Call it on ``BrokenPipeError``."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file: nothing left to flush into the pipe
    return EPIPE_STATUS

"""Reader of ``<tracefs>/trace_pipe``, where ``bpf_printk``/``bpf_trace_printk`` output goes.

trace_pipe is one system-wide stream that is consumed destructively: a line read
here is gone for every other reader (``cat trace_pipe``, another pybpf process),
and other tracers' lines appear in it too. The reader therefore parses each line
and can keep only ``bpf_trace_printk`` lines and only those of given pids (the
task that was current when the program ran, not the loader's pid in general).
"""

from __future__ import annotations

import os
import re
import select
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from pybpf.errors import KernelError
from pybpf.events._lifetime import Closing

__all__ = ["TraceLine", "TracePipe", "parse_line"]

BPF_PRINTK_EVENT = "bpf_trace_printk"

# "<task>-<pid> [(<tgid>)] [<cpu>] <flags> <secs.usecs>: <event>: <message>"
_LINE = re.compile(
    r"^\s*(?P<task>.*?)-(?P<pid>\d+)\s+"
    r"(?:\(\s*(?P<tgid>[\d-]+)\)\s+)?"
    r"\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[^\s\d]\S*)\s+)?"
    r"(?P<ts>\d+\.\d+):\s+"
    r"(?P<event>[^:\s]+):\s?(?P<message>.*)$"
)


class TraceLine(NamedTuple):
    """One parsed trace_pipe line."""

    task: str
    pid: int
    cpu: int
    flags: str
    timestamp: float
    event: str
    message: str


def parse_line(line: str) -> TraceLine | None:
    """Parse one trace_pipe line; None for lines that are not trace events (e.g. the
    ``CPU:N [LOST M EVENTS]`` notes)."""
    m = _LINE.match(line.rstrip("\n"))
    if m is None:
        return None
    return TraceLine(
        task=m["task"],
        pid=int(m["pid"]),
        cpu=int(m["cpu"]),
        flags=m["flags"] or "",
        timestamp=float(m["ts"]),
        event=m["event"],
        message=m["message"],
    )


class TracePipe(Closing):
    """Non-blocking, filtered reader of trace_pipe (mounting tracefs if needed).

    ``pids`` keeps only lines of those tasks; ``bpf_only`` (default) keeps only
    ``bpf_trace_printk`` lines. Lines dropped by the filters are still consumed
    from the system-wide pipe.

    Example::

        with pybpf.TracePipe() as pipe:
            line = pipe.wait_for("Hello, BPF World!", timeout_ms=5000)
    """

    def __init__(
        self,
        *,
        pids: Iterable[int] | None = None,
        bpf_only: bool = True,
        path: str | Path | None = None,
    ) -> None:
        if path is None:
            from pybpf.sys.fs import ensure_tracefs

            path = ensure_tracefs() / "trace_pipe"
        self.path = Path(path)
        self.pids = frozenset(pids) if pids is not None else None
        self.bpf_only = bpf_only
        self.skipped = 0
        """Lines read and dropped by the filters (or not parseable)."""
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise KernelError(
                f"open {self.path}", exc.errno or 0, hint="reading trace_pipe needs root"
            ) from exc
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)
        self._partial = b""
        self._pending: deque[TraceLine] = deque()

    def _keep(self, line: TraceLine) -> bool:
        if self.bpf_only and line.event != BPF_PRINTK_EVENT:
            return False
        return self.pids is None or line.pid in self.pids

    def _fill(self, timeout_ms: int) -> bool:
        """Read what the pipe has (waiting up to ``timeout_ms``); True if bytes came."""
        if not self._poll.poll(timeout_ms):
            return False
        try:
            chunk = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return False
        if not chunk:
            return False
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            parsed = parse_line(raw.decode(errors="replace"))
            if parsed is not None and self._keep(parsed):
                self._pending.append(parsed)
            else:
                self.skipped += 1
        return True

    def readline(self, timeout_ms: int = -1) -> TraceLine | None:
        """The next kept line, waiting up to ``timeout_ms`` (-1: forever); None on timeout."""
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
        while not self._pending:
            left = -1 if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            if not self._fill(left) and deadline is not None and time.monotonic() >= deadline:
                return None
        return self._pending.popleft()

    def read_lines(self, timeout_ms: int = 0) -> list[TraceLine]:
        """Every kept line available now (waiting up to ``timeout_ms`` for the first)."""
        if not self._pending:
            self._fill(timeout_ms)
        while self._fill(0):
            pass
        out = list(self._pending)
        self._pending.clear()
        return out

    def wait_for(self, text: str, timeout_ms: int = 5000) -> TraceLine | None:
        """The first kept line whose message contains ``text``, or None after ``timeout_ms``."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            left = int((deadline - time.monotonic()) * 1000)
            if left < 0:
                return None
            line = self.readline(left)
            if line is None:
                return None
            if text in line.message:
                return line

    def __iter__(self) -> Iterator[TraceLine]:
        """Yield kept lines forever, blocking while the pipe is empty."""
        while True:
            line = self.readline(-1)
            if line is not None:
                yield line

    def fileno(self) -> int:
        """The trace_pipe fd (pollable), for selectors/asyncio."""
        return self._fd

    def close(self) -> None:
        """Close trace_pipe (idempotent)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

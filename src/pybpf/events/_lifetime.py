"""What the event readers share about their end: ``with`` support and unmapping.

A ring's memory may still be viewed by a caller (a batch array, a decoder that kept
a view) when the reader closes; such a mapping is left to be unmapped when the last
view is garbage collected, never pulled from under it.
"""

from __future__ import annotations

import contextlib
import mmap
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from pybpf.errors import UsageError

__all__ = ["Closing", "Guard", "unmap"]


class Closing:
    """Context-manager support for a reader that frees everything in ``close()``."""

    def close(self) -> None:
        """Free the reader's kernel resources (subclasses; idempotent)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Guard:
    """Serializes the readers of one ring: threads take turns, so no record is handed out
    twice or skipped. A callback that reads from (or closes) its own reader would
    deadlock; it gets a :class:`UsageError` instead."""

    __slots__ = ("_lock", "_owner", "what")

    def __init__(self, what: str) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self.what = what

    def __enter__(self) -> None:
        me = threading.get_ident()
        if self._owner == me:
            raise UsageError(
                f"{self.what}: a callback read from or closed its own reader; return True "
                "from the callback to stop the read, then read or close outside it"
            )
        self._lock.acquire()
        self._owner = me

    def __exit__(self, *exc: object) -> None:
        self._owner = None
        self._lock.release()


def unmap(views: Iterable[memoryview], maps: Iterable[mmap.mmap]) -> None:
    """Release ``views`` of the mappings, then close ``maps`` (each one still exported
    to a caller stays mapped until its last view is collected)."""
    for view in views:
        with contextlib.suppress(BufferError):
            view.release()
    for mm in maps:
        with contextlib.suppress(BufferError):
            mm.close()

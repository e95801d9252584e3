"""What the event readers share about their end: ``with`` support and unmapping.

A ring's memory may still be viewed by a caller (a batch array, a decoder that kept
a view) when the reader closes; such a mapping is left to be unmapped when the last
view is garbage collected, never pulled from under it.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterable
from types import TracebackType
from typing import Self

__all__ = ["Closing", "unmap"]


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


def unmap(views: Iterable[memoryview], maps: Iterable[mmap.mmap]) -> None:
    """Release ``views`` of the mappings, then close ``maps`` (each one still exported
    to a caller stays mapped until its last view is collected)."""
    for view in views:
        with contextlib.suppress(BufferError):
            view.release()
    for mm in maps:
        with contextlib.suppress(BufferError):
            mm.close()

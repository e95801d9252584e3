"""An ELF string table that stores each distinct string once."""

from __future__ import annotations

__all__ = ["ElfStrings"]


class ElfStrings:
    """Offsets of NUL-terminated strings; offset 0 is the empty string."""

    def __init__(self) -> None:
        self._buf = bytearray(b"\0")
        self._index: dict[str, int] = {"": 0}

    def add(self, s: str) -> int:
        """The offset of ``s``, appending it when new."""
        off = self._index.get(s)
        if off is None:
            off = self._index[s] = len(self._buf)
            self._buf += s.encode("utf-8", "surrogateescape") + b"\0"
        return off

    def data(self) -> bytes:
        return bytes(self._buf)

"""Codecs turning map keys, values and events into Python values and back.

A map whose key/value has a BTF type gets a :class:`LayoutCodec` (ints, enums,
strings, nested structs, arrays); without BTF a :class:`BytesCodec` passes bytes
through and accepts ints for 1/2/4/8-byte slots, so raw bytes always work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pybpf.errors import BPFError, BTFError, UsageError

if TYPE_CHECKING:
    from pybpf.btf import BTF

__all__ = ["BytesCodec", "Codec", "LayoutCodec", "codec_for"]


class Codec(Protocol):
    """Encodes Python values into ``size`` bytes and decodes them back."""

    size: int

    def encode(self, value: Any) -> bytes: ...

    def decode(self, data: bytes | memoryview) -> Any: ...


class BytesCodec:
    """Raw bytes of a fixed size; ints are accepted (little-endian) when they fit."""

    def __init__(self, size: int, what: str = "value") -> None:
        self.size = size
        self.what = what

    def encode(self, value: Any) -> bytes:
        """Bytes of exactly ``size``: bytes-like as is, ints little-endian."""
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            if len(raw) != self.size:
                raise ValueError(f"{self.what} is {len(raw)} bytes, the map wants {self.size}")
            return raw
        if isinstance(value, int):
            if self.size not in (1, 2, 4, 8):
                raise TypeError(f"an int cannot encode a {self.size}-byte {self.what}; pass bytes")
            return int(value).to_bytes(self.size, "little", signed=int(value) < 0)
        raise TypeError(
            f"{self.what} must be bytes or int for a map without BTF, not {type(value).__name__}"
        )

    def decode(self, data: bytes | memoryview) -> bytes:
        """The bytes themselves."""
        return bytes(data)


class LayoutCodec:
    """A BTF type's layout: decodes to Python values, encodes from them (or from bytes)."""

    def __init__(self, btf: BTF, type_id: int, size: int | None = None) -> None:
        from pybpf.btf.layout import Layout

        self.layout = Layout.for_type(btf, type_id)
        self.size = self.layout.size if size is None else size
        self.type_name = btf.type_name(type_id)

    def encode(self, value: Any) -> bytes:
        """Encode ``value``; bytes of the right size pass through unchanged."""
        if isinstance(value, bytes | bytearray | memoryview):
            if len(value) == self.size:
                return bytes(value)
            try:  # a char array takes shorter bytes (zero-padded)
                return self._pad(self.layout.encode(value))
            except BTFError as exc:
                raise UsageError(
                    f"{len(value)} bytes cannot be a {self.type_name} ({self.size} bytes): "
                    f"pass exactly {self.size} bytes, or a Python value of that type"
                ) from exc
        if isinstance(value, Mapping):
            from pybpf.btf.layout import check_fields

            check_fields(self.layout, value)  # every field named, none misspelled
        return self._pad(self.layout.encode(value))

    def _pad(self, raw: bytes) -> bytes:
        if len(raw) < self.size:
            raw += bytes(self.size - len(raw))
        return raw

    def decode(self, data: bytes | memoryview) -> Any:
        """Decode the value at the start of ``data``."""
        return self.layout.decode(data)


def codec_for(btf: BTF | None, type_id: int, size: int, what: str = "value") -> Codec:
    """The best codec for a ``size``-byte slot of BTF type ``type_id`` (0: no type)."""
    if btf is not None and type_id:
        try:
            codec = LayoutCodec(btf, type_id, size)
        except (BPFError, TypeError, ValueError, NotImplementedError):
            # a type the layout engine cannot model: fall back to bytes
            return BytesCodec(size, what)
        if codec.layout.size <= size:
            return codec
    return BytesCodec(size, what)

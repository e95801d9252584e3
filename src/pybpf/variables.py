"""``obj.globals``: the object's global variables by C name, typed from BTF.

Before load, reads and writes go to the initial image of each data section
(``const volatile`` settings in ``.rodata`` included). After load, ``.data`` and
``.bss`` variables are live through the mmap'ed map; ``.rodata`` is frozen.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from pybpf.errors import BPFError

if TYPE_CHECKING:
    from pybpf.codec import Codec
    from pybpf.object import Object

__all__ = ["Globals"]


class Globals(MutableMapping[str, Any]):
    """Mapping of variable name → value for an object's global data."""

    def __init__(self, obj: Object) -> None:
        self._obj = obj
        self._codecs: dict[str, Codec] = {}

    def _var(self, name: str) -> Any:
        try:
            return self._obj.spec.variables[name]
        except KeyError as exc:
            known = ", ".join(sorted(self._obj.spec.variables)) or "none"
            raise KeyError(f"no global variable {name!r} (known: {known})") from exc

    def _codec(self, name: str) -> Codec:
        codec = self._codecs.get(name)
        if codec is None:
            from pybpf.codec import codec_for

            var = self._var(name)
            codec = codec_for(self._obj.spec.btf, var.type_id, var.size, f"variable {name!r}")
            self._codecs[name] = codec
        return codec

    def __getitem__(self, name: str) -> Any:
        var = self._var(name)
        buf = self._obj._section_buffer(var.section)
        return self._codec(name).decode(memoryview(buf)[var.offset : var.offset + var.size])

    def __setitem__(self, name: str, value: Any) -> None:
        var = self._var(name)
        raw = self._codec(name).encode(value)
        if len(raw) != var.size:
            raise ValueError(f"variable {name!r} is {var.size} bytes, got {len(raw)}")
        buf = self._obj._section_buffer(var.section, write=True)
        buf[var.offset : var.offset + var.size] = raw
        self._obj._section_written(var.section)

    def __delitem__(self, name: str) -> None:
        raise BPFError(f"global variable {name!r} cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self._obj.spec.variables)

    def __len__(self) -> int:
        return len(self._obj.spec.variables)

    def raw(self, name: str) -> bytes:
        """The variable's bytes."""
        var = self._var(name)
        buf = self._obj._section_buffer(var.section)
        return bytes(buf[var.offset : var.offset + var.size])

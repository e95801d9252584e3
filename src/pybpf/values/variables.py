"""``obj.globals``: the object's global variables by C name, typed from BTF.

Before load, reads and writes go to the initial image of each data section
(``const volatile`` settings in ``.rodata`` included). After load, ``.data`` and
``.bss`` variables are live through the mmap'ed map; ``.rodata`` is frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from pybpf.errors import BPFError

if TYPE_CHECKING:
    from pybpf.elf.spec import ObjectSpec
    from pybpf.values.codec import Codec

#: ``buffer(section, write=...)``: a data section's bytes (the image, or the live mmap)
SectionBuffer = Callable[..., Any]

__all__ = ["Globals"]


class Globals(MutableMapping[str, Any]):
    """Mapping of variable name → value for an object's global data."""

    def __init__(self, spec: ObjectSpec, buffer: SectionBuffer) -> None:
        self._spec = spec
        self._buffer = buffer
        self._codecs: dict[str, Codec] = {}

    def _var(self, name: str) -> Any:
        try:
            return self._spec.variables[name]
        except KeyError as exc:
            known = ", ".join(sorted(self._spec.variables)) or "none"
            raise KeyError(f"no global variable {name!r} (known: {known})") from exc

    def _codec(self, name: str) -> Codec:
        codec = self._codecs.get(name)
        if codec is None:
            from pybpf.values.codec import codec_for

            var = self._var(name)
            codec = codec_for(self._spec.btf, var.type_id, var.size, f"variable {name!r}")
            self._codecs[name] = codec
        return codec

    def __getitem__(self, name: str) -> Any:
        var = self._var(name)
        buf = self._buffer(var.section)
        return self._codec(name).decode(memoryview(buf)[var.offset : var.offset + var.size])

    def __setitem__(self, name: str, value: Any) -> None:
        var = self._var(name)
        raw = self._codec(name).encode(value)
        if len(raw) != var.size:
            raise ValueError(f"variable {name!r} is {var.size} bytes, got {len(raw)}")
        buf = self._buffer(var.section, write=True)
        buf[var.offset : var.offset + var.size] = raw

    def __delitem__(self, name: str) -> None:
        raise BPFError(f"global variable {name!r} cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self._spec.variables)

    def __len__(self) -> int:
        return len(self._spec.variables)

    def raw(self, name: str) -> bytes:
        """The variable's bytes."""
        var = self._var(name)
        buf = self._buffer(var.section)
        return bytes(buf[var.offset : var.offset + var.size])

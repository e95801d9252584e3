"""What generated skeleton modules build on: the base class, enums, typed event readers.

A generated ``<Name>Skeleton`` subclasses :class:`Skeleton` and only adds typed
namespaces (maps, programs, variables) and event helpers, so the lifetime logic
(open the embedded object, load, attach, close) lives here once.
"""

from __future__ import annotations

import enum
import hashlib
import os
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

from pybpf.errors import BPFError, ObjectError

if TYPE_CHECKING:
    from pybpf.btf import BTF
    from pybpf.btf.layout import Layout
    from pybpf.events.perfbuf import PerfBuffer
    from pybpf.events.ringbuf import RingBuffer
    from pybpf.link.base import Link
    from pybpf.object import Object

__all__ = ["Decodable", "SkelEnum", "Skeleton", "layout_of", "remember_btf"]

D = TypeVar("D", bound="Decodable")

_BTFS: dict[str, BTF] = {}  # sha256 of an embedded object -> its BTF


class Decodable(Protocol):
    """A generated dataclass: built from the bytes of its C type."""

    @classmethod
    def _decode(cls, data: bytes | memoryview) -> Self: ...


class SkelEnum(enum.IntEnum):
    """Base of generated enums: a value the C enum does not name still decodes."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, int):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"{cls.__name__}({value})"
        member._value_ = value
        return member


def remember_btf(sha256: str, btf: BTF | None) -> None:
    """Share an opened object's BTF with its module's decoders (no second parse)."""
    if btf is not None:
        _BTFS.setdefault(sha256, btf)


def layout_of(sha256: str, elf: bytes, type_id: int) -> Layout:
    """The layout of ``type_id`` in the BTF of the embedded object ``elf``."""
    from pybpf.btf.layout import Layout

    btf = _BTFS.get(sha256)
    if btf is None:
        from pybpf.elf.spec import ObjectSpec

        spec_btf = ObjectSpec.from_bytes(elf).btf
        if spec_btf is None:
            raise ObjectError("the embedded object has no BTF: cannot decode its types")
        btf = _BTFS.setdefault(sha256, spec_btf)
    return Layout.for_type(btf, type_id)


class Skeleton:
    """An opened object seen through a generated, typed skeleton."""

    ELF: ClassVar[bytes]
    ELF_SHA256: ClassVar[str]
    OBJECT_NAME: ClassVar[str]

    def __init__(self, obj: Object) -> None:
        self.obj = obj
        """The underlying :class:`pybpf.Object`."""

    @classmethod
    def open(
        cls,
        elf: bytes | str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> Self:
        """Open the embedded object (or ``elf``, another build of the same source).

        ``options`` are those of :func:`pybpf.open`; nothing is in the kernel yet.
        """
        import pybpf

        embedded = elf is None
        if embedded:
            digest = hashlib.sha256(cls.ELF).hexdigest()
            if digest != cls.ELF_SHA256:
                raise ObjectError(
                    f"embedded object of {cls.__name__} is corrupt (sha256 {digest}, "
                    f"generated from {cls.ELF_SHA256}): regenerate the skeleton"
                )
        options.setdefault("name", cls.OBJECT_NAME)
        obj = pybpf.open(cls.ELF if elf is None else elf, **options)
        try:
            if embedded:
                remember_btf(cls.ELF_SHA256, obj.spec.btf)
            return cls(obj)
        except BaseException:
            obj.close()
            raise

    def load(self) -> Self:
        """Create the maps and load the programs (rodata is frozen from now on)."""
        self.obj.load()
        return self

    def attach(self) -> list[Link]:
        """Attach every program whose section names its target (loads first if needed)."""
        return self.obj.attach()

    def detach(self) -> None:
        """Detach what :meth:`attach` attached."""
        self.obj.detach()

    def close(self) -> None:
        """Detach and release every kernel object of the skeleton."""
        self.obj.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.obj!r}>"

    # -- events --------------------------------------------------------------------

    def ringbuf(
        self, name: str, callback: Callable[[D], object] | None = None, *, event: type[D]
    ) -> RingBuffer[D]:
        """A reader of ring buffer map ``name`` whose records decode as ``event``."""
        from pybpf.events.ringbuf import RingBuffer

        return RingBuffer(self._map_fd(name), callback, decoder=event._decode, **self._lost(name))

    def perfbuf(
        self,
        name: str,
        callback: Callable[[int, D], object] | None = None,
        *,
        event: type[D],
        lost_callback: Callable[[int, int], object] | None = None,
        page_cnt: int = 8,
    ) -> PerfBuffer[D]:
        """A reader of perf event array ``name`` whose samples decode as ``event``."""
        from pybpf.events.perfbuf import PerfBuffer

        return PerfBuffer(
            self._map_fd(name), callback, lost_callback, page_cnt=page_cnt, decoder=event._decode
        )

    def _ringbuf_raw(
        self, name: str, callback: Callable[[bytes], object] | None
    ) -> RingBuffer[bytes]:
        from pybpf.events.ringbuf import RingBuffer

        return RingBuffer(self._map_fd(name), callback, **self._lost(name))

    def _lost(self, name: str) -> dict[str, Any]:
        """The loss-counter arguments of a ring reader (``pybpf_rb_lost`` from pybpf.h)."""
        from pybpf.events.ringbuf import LOST_MAP

        m = self.obj.maps.get(LOST_MAP)
        if m is None or m.closed:
            return {}
        return {"lost_map": m.fd, "lost_key": name}

    def _perfbuf_raw(
        self,
        name: str,
        callback: Callable[[int, bytes], object] | None,
        lost_callback: Callable[[int, int], object] | None,
        page_cnt: int,
    ) -> PerfBuffer[bytes]:
        from pybpf.events.perfbuf import PerfBuffer

        return PerfBuffer(self._map_fd(name), callback, lost_callback, page_cnt=page_cnt)

    def _map_fd(self, name: str) -> int:
        if not self.obj.loaded:
            raise BPFError(f"{type(self).__name__}: load() before reading events from {name!r}")
        return self.obj.maps[name].fd

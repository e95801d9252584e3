"""``IntArrayList``: the ``list`` of a C integer array, converted on first use.

Decoding a record with a ``u8 data[112]`` member spends most of its time building
the 112-item list, which an event callback often never reads. An
:class:`IntArrayList` holds the raw bytes and turns them into its items the first
time anything looks at it; every ``list`` operation (indexing, iteration, ``len``,
``==``, ``repr``, ``+``, ``*``, ``in``, the mutating methods, pickling, copying)
fills it first, so it compares, prints and behaves like the plain list it equals.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any, SupportsIndex

__all__ = ["IntArrayList", "lazy_int_list"]


class IntArrayList(list[int]):
    """A list of integers decoded from a C array on first use (see module doc)."""

    __slots__ = ("_raw",)
    _raw: bytes | None
    _code = "B"  # array typecode of the elements (subclasses set it)

    def _fill(self) -> None:
        try:
            raw = self._raw
        except AttributeError:  # made like a plain list: nothing pending
            return
        if raw is not None:
            self._raw = None
            code = self._code
            list.extend(self, raw if code == "B" else array(code, raw).tolist())

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        self._fill()
        return (list, (list(list.__iter__(self)),))

    def __copy__(self) -> list[int]:
        self._fill()
        return list.copy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[int]:
        return self.__copy__()

    def __radd__(self, other: Any) -> Any:
        self._fill()
        if isinstance(other, list):
            return other + list(list.__iter__(self))
        return NotImplemented


def _filling(name: str) -> Callable[..., Any]:
    base = getattr(list, name)

    def method(self: IntArrayList, *args: Any, **kw: Any) -> Any:
        self._fill()
        for arg in args:  # list's C code reads the other operand's items directly
            if isinstance(arg, IntArrayList):
                arg._fill()
        return base(self, *args, **kw)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = base.__doc__
    return method


for _name in (
    "__getitem__", "__setitem__", "__delitem__", "__len__", "__iter__", "__reversed__",
    "__contains__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__add__", "__iadd__", "__mul__", "__rmul__", "__imul__", "__repr__", "__sizeof__",
    "append", "extend", "insert", "pop", "remove", "index", "count", "sort", "reverse",
    "clear", "copy",
):  # fmt: skip
    setattr(IntArrayList, _name, _filling(_name))
IntArrayList.__hash__ = None

_CLASSES: dict[str, type[IntArrayList]] = {"B": IntArrayList}
_new = list.__new__


def lazy_int_list(code: str) -> Callable[[bytes], IntArrayList]:
    """A maker of :class:`IntArrayList` for elements of array typecode ``code``."""
    cls = _CLASSES.get(code)
    if cls is None:
        cls = _CLASSES[code] = type(
            "IntArrayList", (IntArrayList,), {"__slots__": (), "_code": code}
        )

    def make(raw: bytes) -> IntArrayList:
        out: IntArrayList = _new(cls)
        out._raw = raw
        return out

    return make

"""Bases for pybpf's own enums, built by the stdlib's fast path.

``class Kind(FastIntEnum): ...`` gives the same ``enum.IntEnum`` class as
``class Kind(enum.IntEnum): ...``, built by ``enum._simple_enum`` (the route the
standard library takes for its own enums, such as ``re.RegexFlag``): 2-3 times
quicker than the metaclass machinery, which costs milliseconds over the ~250 members
of the enums a load imports. Without ``_simple_enum`` (another Python) the class is
made by ``enum.EnumType`` exactly as a class statement would. Type checkers see the
``enum`` classes themselves.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

__all__ = ["FastEnum", "FastIntEnum", "FastIntFlag"]

# (class, enum type, class body) of every enum made here: tests compare each with the
# class statement's result
MADE: list[tuple[type[enum.Enum], type[enum.Enum], dict[str, Any]]] = []

try:
    from enum import _simple_enum  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - a Python without it
    _simple_enum = None


def statement(name: str, etype: type[enum.Enum], body: dict[str, Any]) -> type[enum.Enum]:
    """What ``class name(etype): body`` makes (the metaclass route)."""
    ns = enum.EnumType.__prepare__(name, (etype,))
    for k, v in body.items():
        ns[k] = v
    cls: Any = enum.EnumType(name, (etype,), ns)
    return cls  # type: ignore[no-any-return]


class _Fast(type):
    """Metaclass of the bases below: the class statement yields the enum class."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> Any:
        if not bases:  # the bases themselves
            return super().__new__(mcls, name, bases, ns)
        etype: type[enum.Enum] = bases[0]._etype  # type: ignore[attr-defined]
        body = {k: v for k, v in ns.items() if k != "__classcell__"}
        if _simple_enum is None or "__classcell__" in ns or len(bases) > 1:
            cls = statement(name, etype, body)
        else:
            cls = _simple_enum(etype)(type(name, (), dict(body)))
        MADE.append((cls, etype, body))
        return cls


if TYPE_CHECKING:
    from enum import Enum as FastEnum
    from enum import IntEnum as FastIntEnum
    from enum import IntFlag as FastIntFlag
else:

    class FastEnum(metaclass=_Fast):
        _etype = enum.Enum

    class FastIntEnum(metaclass=_Fast):
        _etype = enum.IntEnum

    class FastIntFlag(metaclass=_Fast):
        _etype = enum.IntFlag

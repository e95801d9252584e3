"""Generated decoders for fixed-layout structs: one ``unpack_from`` and one expression.

A struct whose members are all byte-aligned scalars, arrays and such nested structs
is decoded by a function generated for it (as ``collections.namedtuple`` does):
one precompiled ``struct.Struct`` for the whole record, nested records and lists
built by a single expression, no per-field Python loop. Arrays of plain numbers
are unpacked as bytes and turned into a list by ``array.tolist`` in C, or, when
long, into an :class:`~pybpf.btf.lazylist.IntArrayList` that makes its items on
first use. The values equal those of the generic path (same reprs).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pybpf.btf.lazylist import lazy_int_list
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.layout import Buffer, Layout

__all__ = ["LAZY_MIN", "MAX_VALUES", "fast_decoder"]

LAZY_MIN = 16  # integer arrays this long become IntArrayList (items made on first use)
MAX_VALUES = 2048  # bigger records keep the generic path (generated code would be huge)
_ARRAY_CODES = frozenset("bBhHiIqQfd")  # scalars array.array reads in host order


class _Gen:
    """Accumulates the struct format, the names the code uses and value variables."""

    def __init__(self) -> None:
        self.fmt: list[str] = []
        self.env: dict[str, Any] = {"_array": array}
        self.nvars = 0

    def var(self, fmt: str) -> str:
        self.fmt.append(fmt)
        self.nvars += 1
        if self.nvars > MAX_VALUES:
            raise _Unsupported
        return f"v{self.nvars - 1}"

    def name(self, obj: Any) -> str:
        key = f"_o{len(self.env)}"
        self.env[key] = obj
        return key


class _Unsupported(Exception):
    """The layout needs the generic path."""


def _emit(gen: _Gen, lay: Any) -> str:
    """Append ``lay``'s struct format to ``gen``; return the expression of its value.

    Dispatches on ``lay.shape`` (see :class:`pybpf.btf.layout.Layout`), so that this
    module needs nothing from ``layout``, which imports it.
    """
    shape = lay.shape
    if shape == "scalar":
        if lay.fmt is None:
            raise _Unsupported
        v = gen.var(lay.fmt)
        return v if lay.conv is None else f"{gen.name(lay.conv)}({v})"
    if shape == "chars":
        return f'{gen.var(f"{lay.size}s")}.partition(b"\\0")[0]'
    if shape == "opaque":
        return gen.var(f"{lay.size}s")
    if shape == "array":
        e = lay.elem
        if e.shape == "scalar" and e.conv is None and e.fmt in _ARRAY_CODES:
            v = gen.var(f"{lay.size}s")
            if lay.n >= LAZY_MIN:
                return f"{gen.name(lazy_int_list(e.fmt))}({v})"
            return f"list({v})" if e.fmt == "B" else f'_array("{e.fmt}", {v}).tolist()'
        return "[" + ", ".join(_emit(gen, e) for _ in range(lay.n)) + "]"
    if shape == "record":
        if lay.fmt is None:
            raise _Unsupported
        pos = 0
        items = []
        for f in lay.fields:  # in offset order: a layout with a fmt guarantees it
            off = f.bit_offset // 8
            if off > pos:
                gen.fmt.append(f"{off - pos}x")
            items.append(_emit(gen, f.layout))
            pos = off + f.layout.size
        if pos < lay.size:
            gen.fmt.append(f"{lay.size - pos}x")
        inner = ", ".join(items) + ("," if len(items) == 1 else "")
        return f"{gen.name(lay.cls)}(({inner}))"
    raise _Unsupported


def fast_decoder(lay: Layout) -> Callable[[Buffer, int], Any] | None:
    """``decode(buf, offset=0)`` generated for ``lay``, or None if it needs the generic path."""
    gen = _Gen()
    try:
        expr = _emit(gen, lay)
    except _Unsupported:
        return None
    if not gen.nvars:
        return None
    st = struct.Struct("=" + "".join(gen.fmt))
    if st.size != lay.size:
        return None
    gen.env.update(_unpack=st.unpack_from, _error=struct.error, _BTFError=BTFError)
    gen.env["_what"] = f"cannot decode {lay.type_name}: "
    targets = ", ".join(f"v{i}" for i in range(gen.nvars)) + ","
    head, _, rest = expr.partition("((")
    if rest == targets.rstrip(",") + ("," if gen.nvars == 1 else "") + "))":
        # every value as unpacked, in order: the record is made from the tuple itself
        body, tail = f"        return {head}(_unpack(buf, offset))\n", ""
    else:
        body, tail = f"        {targets} = _unpack(buf, offset)\n", f"    return {expr}\n"
    src = (
        "def decode(buf, offset=0):\n"
        "    try:\n"
        f"{body}"
        "    except _error as exc:\n"
        "        raise _BTFError(_what + str(exc)) from exc\n"
        f"{tail}"
    )
    ns: dict[str, Any] = {}
    exec(compile(src, f"<pybpf decoder {lay.type_name}>", "exec"), gen.env, ns)
    fn: Callable[[Buffer, int], Any] = ns["decode"]
    return fn

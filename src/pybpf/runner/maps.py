"""How the runner shows a map at exit: log2 histograms for histogram-shaped maps, tables
otherwise, JSON data with ``--json``.

Histogram-shaped: an integer key (the slot) with integer counts; a struct key with a
``slot``/``bucket`` member and integer counts (one histogram per value of the other
members); or a value struct with a ``slots`` array (libbpf-tools' ``struct hist``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pybpf.btf.layout import Record
from pybpf.runner.hist import render_log2
from pybpf.runner.values import to_jsonable

__all__ = ["MapView", "histogram_groups"]

SLOT_NAMES = ("slot", "bucket", "index")
MAX_ROWS = 200


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _count(v: Any) -> int | None:
    """A per-CPU list of ints sums to one count."""
    if _is_int(v):
        return int(v)
    if isinstance(v, list) and v and all(_is_int(x) for x in v):
        return sum(v)
    return None


def histogram_groups(items: list[tuple[Any, Any]]) -> dict[str, dict[int, int]] | None:
    """Slot counts by group label if the items look like a log2 histogram, else None."""
    if not items:
        return None
    groups: dict[str, dict[int, int]] = defaultdict(dict)
    k0, v0 = items[0]
    if isinstance(v0, Record) and "slots" in v0._fields:
        for k, v in items:
            slots = v["slots"]
            if not isinstance(slots, list):
                return None
            groups[_label(k)] = {i: int(c) for i, c in enumerate(slots)}
        return dict(groups)
    if _count(v0) is None:
        return None
    if _is_int(k0):
        if max(int(k) for k, _ in items) > 128:
            return None
        for k, v in items:
            c = _count(v)
            if c is None:
                return None
            groups[""][int(k)] = groups[""].get(int(k), 0) + c
        return dict(groups)
    if isinstance(k0, Record):
        slot = next((n for n in SLOT_NAMES if n in k0._fields), None)
        if slot is None:
            return None
        for k, v in items:
            c = _count(v)
            s = k[slot]
            if c is None or not _is_int(s) or s > 128:
                return None
            rest = {f: x for f, x in k._asdict().items() if f != slot}
            label = " ".join(f"{f}={_text(x)}" for f, x in rest.items())
            groups[label][int(s)] = groups[label].get(int(s), 0) + c
        return dict(groups)
    return None


def _text(v: Any) -> str:
    j = to_jsonable(v)
    return j if isinstance(j, str) else str(j)


def _label(k: Any) -> str:
    if isinstance(k, Record):
        return " ".join(f"{f}={_text(x)}" for f, x in k._asdict().items())
    return _text(k)


class MapView:
    """A map's contents at one moment, rendered as text or JSON."""

    def __init__(self, name: str, items: list[tuple[Any, Any]]) -> None:
        self.name = name
        self.items = items
        self.hist = histogram_groups(items)

    def text(self) -> Iterator[str]:
        """Lines for a terminal."""
        if self.hist is not None:
            yield f"@{self.name}:"
            for label, slots in sorted(self.hist.items()):
                if label:
                    yield f"{label}"
                yield from render_log2(slots)
                yield ""
            return
        yield f"@{self.name}: {len(self.items)} entries"
        for k, v in self.items[:MAX_ROWS]:
            yield f"  {_label(k)}: {_label(v) if isinstance(v, Record) else _text(v)}"
        if len(self.items) > MAX_ROWS:
            yield f"  ... {len(self.items) - MAX_ROWS} more"

    def json(self) -> dict[str, Any]:
        """One JSON object for the map."""
        out: dict[str, Any] = {"type": "map", "name": self.name}
        if self.hist is not None:
            out["histogram"] = {
                label: {str(s): c for s, c in sorted(slots.items())}
                for label, slots in self.hist.items()
            }
        out["entries"] = [{"key": to_jsonable(k), "value": to_jsonable(v)} for k, v in self.items]
        return out

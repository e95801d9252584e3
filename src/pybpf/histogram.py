"""Histograms stored in BPF maps, printed the way BCC prints them (and with rich).

A log2 histogram map holds counts by slot: slot 0 counts the value 0 and slot
``s >= 1`` counts ``[2**(s-1), 2**s - 1]`` (the BPF side computes it with
``PYBPF_LOG2_SLOT(v)`` from ``<pybpf.h>``, BCC's ``bpf_log2l``). A linear one holds
counts by ``value // step``. A map whose key is a struct ``{bucket, slot}`` holds one
histogram per bucket ("section"), as in BCC.

:meth:`pybpf.Map.print_log2_hist` and :meth:`pybpf.Map.print_linear_hist` take BCC's
parameters and print the same text as BCC's ``TableBase.print_log2_hist`` /
``print_linear_hist`` for the same data. The functions here work on plain lists of
counts, for data that does not come from a map::

    >>> from pybpf.histogram import log2_hist_lines
    >>> print("\\n".join(log2_hist_lines([0, 3, 1], "bytes")))
         bytes               : count     distribution
             0 -> 1          : 3        |****************************************|
             2 -> 3          : 1        |*************                           |
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

__all__ = [
    "LINEAR_INDEX_MAX",
    "LOG2_INDEX_MAX",
    "STARS_MAX",
    "linear_hist_lines",
    "log2_hist_lines",
    "print_hist",
    "rich_hist",
    "sections",
]

#: Bar width of the "distribution" column (BCC's ``stars_max``).
STARS_MAX = 40
#: Slots of a log2 histogram: slot 64 holds ``[2**63, 2**64 - 1]``.
LOG2_INDEX_MAX = 65
#: Slots of a linear histogram without sections (as BCC).
LINEAR_INDEX_MAX = 1025


def _stars(val: int, val_max: int, width: int) -> str:
    """The bar of ``val``: ``width * val / val_max`` stars, rounded down, at most ``width``."""
    n = 0
    while n <= width - 1 and not n > width * val / val_max - 1:
        n += 1
    text = "*" * n
    if val > val_max:
        text = text[:-1] + "+"
    return text


def _last_used(vals: Sequence[int]) -> tuple[int, int]:
    idx_max, val_max = -1, 0
    for i, v in enumerate(vals):
        if v > 0:
            idx_max = i
        if v > val_max:
            val_max = v
    return idx_max, val_max


def log2_hist_lines(
    vals: Sequence[int], val_type: str = "value", strip_leading_zero: bool | None = None
) -> list[str]:
    """The lines of a log2 histogram of per-slot counts ``vals`` (BCC's layout).

    Rows run from slot 1 (``0 -> 1``) to the last used slot; wide columns are used
    once a slot above 32 is used. ``strip_leading_zero`` drops the empty rows at the
    top. No lines when no slot above 0 is used (as BCC).
    """
    idx_max, val_max = _last_used(vals)
    # narrow columns up to slot 32 (values below 2**32), wide ones above, as BCC
    w, label_w, stars = (10, 19, STARS_MAX) if idx_max <= 32 else (20, 29, STARS_MAX // 2)
    indent = " " * (5 if idx_max <= 32 else 15)
    out: list[str] = []
    if idx_max > 0:
        out.append(f"{indent}{val_type:<{label_w}} : count     distribution")
    strip = bool(strip_leading_zero)
    for i in range(1, idx_max + 1):
        low, high = (1 << i) >> 1, (1 << i) - 1
        if low == high:
            low -= 1
        val = vals[i]
        if strip and not val:
            continue
        strip = False
        bar = _stars(val, val_max, stars)
        out.append(f"{low:>{w}d} -> {high:<{w}d} : {val:<8d} |{bar:<{stars}}|")
    return out


def linear_hist_lines(
    vals: Sequence[int], val_type: str = "value", strip_leading_zero: bool | None = None
) -> list[str]:
    """The lines of a linear histogram: one row per index up to the last used one."""
    idx_max, val_max = _last_used(vals)
    out: list[str] = []
    if idx_max >= 0:
        out.append(f"     {val_type:<13} : count     distribution")
    strip = bool(strip_leading_zero)
    for i in range(idx_max + 1):
        val = vals[i]
        if strip and not val:
            continue
        strip = False
        bar = _stars(val, val_max, STARS_MAX)
        out.append(f"        {i:<10d} : {val:<8d} |{bar:<{STARS_MAX}}|")
    return out


def _count(value: Any) -> int:
    """A count from a map value: an int, a per-CPU list (summed) or a one-field record."""
    if isinstance(value, int):
        return value
    if isinstance(value, list):
        return sum(_count(v) for v in value)
    if isinstance(value, tuple) and len(value) == 1:
        return _count(value[0])
    raise TypeError(f"histogram values must be integer counts, not {type(value).__name__}")


def sections(
    items: Iterable[tuple[Any, Any]],
    *,
    slots: int,
    bucket_fn: Callable[[Any], Any] | None = None,
    bucket_sort_fn: Callable[[list[Any]], list[Any]] | None = None,
) -> list[tuple[Any, list[int]]] | list[int]:
    """Counts per slot from map items.

    Integer keys give one list of ``slots`` counts. Struct keys give
    ``[(bucket, counts), ...]``: the first field is the bucket (mapped through
    ``bucket_fn``), the second the slot; buckets in first-seen order unless
    ``bucket_sort_fn`` reorders them (BCC's behaviour).
    """
    flat: list[int] | None = None
    tmp: dict[Any, list[int]] = {}
    for key, value in items:
        if isinstance(key, int):
            if flat is None:
                flat = [0] * slots
            if not 0 <= key < slots:
                raise IndexError(f"histogram slot {key} is outside 0..{slots - 1}")
            flat[key] = _count(value)
            continue
        fields = getattr(key, "_fields", None)
        if not fields or len(fields) < 2:
            raise TypeError(
                f"histogram keys must be slots (ints) or structs {{bucket, slot}}, not {key!r}"
            )
        bucket = key[0]
        if bucket_fn is not None:
            bucket = bucket_fn(bucket)
        vals = tmp.setdefault(bucket, [0] * LOG2_INDEX_MAX)
        vals[key[1]] = _count(value)
    if flat is not None or not tmp:
        return flat if flat is not None else [0] * slots
    order = list(tmp)
    if bucket_sort_fn is not None:
        order = list(bucket_sort_fn(order))
    return [(b, tmp[b]) for b in order]


def print_hist(
    items: Iterable[tuple[Any, Any]],
    *,
    linear: bool = False,
    val_type: str = "value",
    section_header: str = "Bucket ptr",
    section_print_fn: Callable[[Any], Any] | None = None,
    bucket_fn: Callable[[Any], Any] | None = None,
    strip_leading_zero: bool | None = None,
    bucket_sort_fn: Callable[[list[Any]], list[Any]] | None = None,
    file: IO[str] | None = None,
) -> None:
    """Print the histogram(s) of map ``items`` as BCC does (see the module doc)."""
    out = file if file is not None else sys.stdout
    lines = linear_hist_lines if linear else log2_hist_lines
    data = sections(
        items,
        slots=LINEAR_INDEX_MAX if linear else LOG2_INDEX_MAX,
        bucket_fn=bucket_fn,
        bucket_sort_fn=bucket_sort_fn,
    )
    if data and isinstance(data[0], tuple):
        for bucket, vals in data:
            shown = section_print_fn(bucket) if section_print_fn else repr(bucket)
            print(f"\n{section_header} = {shown}", file=out)
            for line in lines(vals, val_type, strip_leading_zero):
                print(line, file=out)
        return
    for line in lines(data, val_type, strip_leading_zero):  # type: ignore[arg-type]
        print(line, file=out)


def rich_hist(
    items: Iterable[tuple[Any, Any]],
    *,
    linear: bool = False,
    val_type: str = "value",
    section_header: str = "Bucket ptr",
    section_print_fn: Callable[[Any], Any] | None = None,
    bucket_fn: Callable[[Any], Any] | None = None,
    strip_leading_zero: bool | None = None,
) -> Any:
    """The same histogram(s) as a rich renderable: one table per section, with bars.

    Example::

        from rich.console import Console
        Console().print(obj.maps["sizes"].rich_log2_hist(val_type="bytes"))
    """
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    data = sections(
        items,
        slots=LINEAR_INDEX_MAX if linear else LOG2_INDEX_MAX,
        bucket_fn=bucket_fn,
    )
    if data and isinstance(data[0], tuple):
        parts = [
            (f"{section_header} = {section_print_fn(b) if section_print_fn else repr(b)}", v)
            for b, v in data
        ]
    else:
        parts = [("", data)]  # type: ignore[list-item]
    tables = []
    for title, vals in parts:
        idx_max, val_max = _last_used(vals)
        table = Table(title=title or None, box=None, pad_edge=False)
        table.add_column(val_type, justify="right", style="cyan")
        table.add_column("count", justify="right")
        table.add_column("distribution", min_width=STARS_MAX)
        first = 0 if linear else 1
        strip = bool(strip_leading_zero)
        for i in range(first, idx_max + 1):
            val = vals[i]
            if strip and not val:
                continue
            strip = False
            if linear:
                label = str(i)
            else:
                low, high = (1 << i) >> 1, (1 << i) - 1
                label = f"{low - 1 if low == high else low} -> {high}"
            width = STARS_MAX * val / val_max if val_max else 0
            bar = "█" * int(width) + (" ▏▎▍▌▋▊▉"[int((width % 1) * 8)] if width % 1 else "")
            table.add_row(label, str(val), Text(bar, style="green"))
        tables.append(table)
    return Group(*tables)

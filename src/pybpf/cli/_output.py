"""Tables for the bpftool-shaped verbs: rich on a terminal, aligned text otherwise, and
JSON with ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["emit_json", "emit_table", "type_name"]


def type_name(t: Any) -> str:
    """bpftool's spelling of a program/map type: the enum name in lower case."""
    return t.name.lower() if hasattr(t, "name") else str(t)


#: ``--pretty``: indent JSON output (set by the entry point, as bpftool's ``-p``)
PRETTY = False


def emit_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout (indented with ``--pretty``)."""
    json.dump(data, sys.stdout, indent=2 if PRETTY else None, default=str)
    sys.stdout.write("\n")


def emit_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table: rich when stdout is a terminal, plain aligned columns otherwise."""
    cells = [[str(c) for c in r] for r in rows]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for h in header:
            table.add_column(h)
        for r in cells:
            table.add_row(*r)
        Console().print(table)
        return
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]
    for r in (list(header), *cells):
        sys.stdout.write(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n"
        )

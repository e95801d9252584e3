"""``pybpf inspect OBJ``: what a BPF object contains, without touching the kernel.

Sections, programs, maps, global variables, externs, license, version and the
CO-RE relocation count: rich tables on a terminal, plain aligned text otherwise,
and ``--json`` with stable keys (:meth:`ObjectSpec.summary`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["register", "render_text"]


def register(subparsers: Any) -> None:
    """Add the ``inspect`` subcommand."""
    p = subparsers.add_parser("inspect", help="show the contents of a BPF object file")
    p.add_argument("object", metavar="OBJ", help="BPF ELF object (.bpf.o)")
    p.add_argument("--json", action="store_true", help="JSON output with stable keys")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pybpf.elf.spec import ObjectSpec

    spec = ObjectSpec.from_file(args.object)
    summary = spec.summary()
    out = sys.stdout
    if args.json:
        json.dump(summary, out, indent=2, sort_keys=False)
        out.write("\n")
    elif out.isatty():
        _render_rich(summary)
    else:
        out.write(render_text(summary))
    return 0


# ------------------------------------------------------------------ tables


def _flags(value: int) -> str:
    return f"{value:#x}" if value else "0"


def _tables(s: dict[str, Any]) -> list[tuple[str, Sequence[str], list[Sequence[str]]]]:
    """(title, header, rows) of every table, shared by the rich and plain renderers."""
    tables: list[tuple[str, Sequence[str], list[Sequence[str]]]] = []
    tables.append(
        (
            "Sections",
            ("#", "name", "type", "size", "flags"),
            [
                (str(x["index"]), x["name"], x["type"], str(x["size"]), x["flags"])
                for x in s["sections"]
            ],
        )
    )
    progs = [*s["programs"], *s["subprograms"]]
    tables.append(
        (
            "Programs",
            ("name", "section", "type", "attach type", "attach target", "insns", "kind"),
            [
                (
                    p["name"],
                    p["section"],
                    p["type"],
                    p["expected_attach_type"] or "-",
                    p["attach_target"] or "-",
                    str(p["insns"]),
                    "subprog" if p["subprog"] else ("global" if p["global"] else "static"),
                )
                for p in progs
            ],
        )
    )
    tables.append(
        (
            "Maps",
            ("name", "type", "key", "value", "max_entries", "flags", "def", "pinning"),
            [
                (
                    m["name"],
                    m["type"],
                    _sized(m["key_size"], m["key_type"]),
                    _sized(m["value_size"], m["value_type"]),
                    str(m["max_entries"]),
                    _flags(m["flags"]),
                    "legacy" if m["legacy"] else m["kind"] if m["kind"] != "user" else "btf",
                    m["pinning"],
                )
                for m in s["maps"]
            ],
        )
    )
    tables.append(
        (
            "Global variables",
            ("name", "section", "offset", "size", "type"),
            [
                (v["name"], v["section"], str(v["offset"]), str(v["size"]), v["type"] or "-")
                for v in s["variables"]
            ],
        )
    )
    tables.append(
        (
            "Externs",
            ("name", "kind", "type", "size", "offset", "weak"),
            [
                (
                    e["name"],
                    e["kind"] + (" (func)" if e["func"] else ""),
                    e["type"] or "-",
                    str(e["size"]),
                    str(e["offset"]),
                    "yes" if e["weak"] else "no",
                )
                for e in s["externs"]
            ],
        )
    )
    return tables


def _sized(size: int, type_name: str | None) -> str:
    return f"{size} ({type_name})" if type_name else str(size)


def _header_lines(s: dict[str, Any]) -> list[str]:
    version = s["kern_version"]
    ver = (
        "-"
        if version is None
        else f"{version:#x} ({version >> 16}.{(version >> 8) & 0xFF}.{version & 0xFF})"
    )
    return [
        f"object:  {s['file'] or s['name']}",
        f"license: {s['license'] or '-'}",
        f"version: {ver}",
        f"BTF: {'yes' if s['btf'] else 'no'}, BTF.ext: {'yes' if s['btf_ext'] else 'no'}, "
        f"CO-RE relocations: {s['core_relocations']}",
    ]


def render_text(s: dict[str, Any]) -> str:
    """Plain aligned-column text of a summary (used when stdout is not a terminal)."""
    lines = _header_lines(s)
    for title, header, rows in _tables(s):
        lines.append("")
        lines.append(f"{title} ({len(rows)}):")
        if not rows:
            continue
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        for row in (header, *rows):
            lines.append(
                "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
    return "\n".join(lines) + "\n"


def _render_rich(s: dict[str, Any], file: TextIO | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file)
    for line in _header_lines(s):
        console.print(line, highlight=False)
    for title, header, rows in _tables(s):
        if not rows:
            console.print(f"[bold]{title}[/bold]: none")
            continue
        table = Table(title=title, title_justify="left", title_style="bold")
        for h in header:
            table.add_column(h)
        for row in rows:
            table.add_row(*row)
        console.print(table)

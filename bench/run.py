"""pybpf benchmarks against libbpf (C) and BCC (Python), side by side in one run.

    python bench/run.py [NAME ...] [--json OUT] [--quick] [--no-bcc]

Names: ringbuf perfbuf btf objload maps growth export (default: all). Each benchmark prints
one table with pybpf and its reference, the ratio and the target (PASS/MISS).
Needs root (programs are loaded into the running kernel), gcc and libbpf-dev.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import b_btf
import b_events
import b_export
import b_growth
import b_maps
import b_objload
from common import BenchError, Options, Table, log, precompile

BENCHMARKS: dict[str, Callable[[Options], list[Table]]] = {
    "ringbuf": lambda o: b_events.run(o, "ring"),
    "perfbuf": lambda o: b_events.run(o, "perf"),
    "btf": b_btf.run,
    "objload": b_objload.run,
    "maps": b_maps.run,
    "growth": b_growth.run,
    "export": b_export.run,
}


def fmt(value: Any, column: str) -> str:
    """A cell as text: rates in M/s or k/s, ratios as 1.23x, times in ms."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    col = column.lower()
    if "ratio" in col or col.endswith(" x"):
        return f"{value:.2f}x"
    if "ev/s" in col or "/s" in col:
        if value >= 1e6:
            return f"{value / 1e6:.2f} M"
        return f"{value / 1e3:.1f} k"
    if col.endswith(" ms") or col.endswith("mib"):
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return str(value)


def render(table: Table) -> None:
    """Print a table with rich (PASS green, MISS red)."""
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(width=max(160, Console().width))
    rt = RichTable(title=table.title, title_justify="left", show_lines=False)
    for col in table.columns:
        rt.add_column(col, justify="left" if col in table.columns[:2] else "right", overflow="fold")
    for row in table.rows:
        cells = []
        for col, val in zip(table.columns, row, strict=True):
            text = fmt(val, col)
            if text == "PASS":
                text = "[green]PASS[/green]"
            elif text == "MISS":
                text = "[bold red]MISS[/bold red]"
            cells.append(text)
        rt.add_row(*cells)
    console.print(rt)
    for note in table.notes:
        console.print(f"  {note}", highlight=False, soft_wrap=True)
    console.print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {' '.join(BENCHMARKS)}"
    )
    ap.add_argument("--json", metavar="OUT", help="also write the tables as JSON to OUT")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one sample (smoke test)")
    ap.add_argument("--no-bcc", action="store_true", help="skip the BCC reference")
    args = ap.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if os.geteuid() != 0:
        print("bench: needs root (it loads BPF programs into the running kernel)", file=sys.stderr)
        return 2
    opts = Options(quick=args.quick, bcc=not args.no_bcc)
    precompile()
    results: dict[str, Any] = {}
    failed = []
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        log(f"== {name}")
        try:
            tables = BENCHMARKS[name](opts)
        except BenchError as exc:
            print(f"benchmark {name} failed: {exc}", file=sys.stderr)
            failed.append(name)
            results[name] = {"error": str(exc)}
            continue
        for t in tables:
            render(t)
        results[name] = {
            "seconds": time.perf_counter() - t0,
            "tables": [t.to_json() for t in tables],
        }
    total = time.perf_counter() - t_all
    print(f"bench: {len(names) - len(failed)}/{len(names)} benchmarks in {total:.0f} s", flush=True)
    if args.json:
        doc = {
            "machine": {
                "kernel": platform.release(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            },
            "quick": args.quick,
            "seconds": total,
            "benchmarks": results,
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Object load: whole-process time and peak RSS of open+load+attach+close.

pybpf (a Python process: interpreter start, imports, open, load, attach, close) vs
a libbpf C loader (bench/c/objload.c) on the same objects: libbpf-bootstrap's
bootstrap (shipped with pybpf) and the execsnoop-like / opensnoop-like CO-RE
objects of bench/bpf. pybpf's in-process time is split into the kernel's
BPF_PROG_LOAD time, close (link/map teardown in the kernel) and pybpf's own work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import (
    BENCH,
    ROOT,
    Options,
    Table,
    bpf_object,
    c_program,
    log,
    median,
    python_worker,
    run_child,
    verdict,
)

COLUMNS = [
    "object",
    "progs",
    "pybpf process ms",
    "pybpf RSS MiB",
    "import ms",
    "BPF_PROG_LOAD ms",
    "close ms",
    "pybpf own ms",
    "reference",
    "ref process ms",
    "ref RSS MiB",
    "ratio",
    "target",
    "verdict",
]
TARGET = 1.5


def objects(quick: bool) -> list[tuple[str, Path]]:
    """The objects measured (building the bench ones)."""
    objs = [("bootstrap", ROOT / "src" / "pybpf" / "tools" / "objects" / "bootstrap.bpf.o")]
    if not quick:
        for name in ("execsnoop_like", "opensnoop_like"):
            objs.append((name, bpf_object(BENCH / "bpf" / f"{name}.bpf.c", name)))
    return objs


def measure(path: Path, n: int) -> tuple[dict[str, float], dict[str, float]]:
    """Medians for pybpf and libbpf C over ``n`` alternating processes each."""
    exe = c_program("objload")
    py: list[Any] = []
    c: list[Any] = []
    run_child(python_worker("objload_pybpf", str(path)))  # warm the page cache and BTF cache
    for _ in range(n):
        py.append(run_child(python_worker("objload_pybpf", str(path))))
        c.append(run_child([str(exe), str(path)]))
    pm = {k: median([x.data[k] * 1e3 for x in py]) for k in py[0].data if k.endswith("seconds")}
    pm["process"] = median([x.wall * 1e3 for x in py])
    pm["rss"] = median([x.maxrss_kb / 1024 for x in py])
    pm["programs"] = py[0].data["programs"]
    cm = {
        "process": median([x.wall * 1e3 for x in c]),
        "rss": median([x.maxrss_kb / 1024 for x in c]),
    }
    cm["programs"] = c[0].data["programs"]
    return pm, cm


def run(opts: Options) -> list[Table]:
    """One row per object."""
    n = 1 if opts.quick else 5
    table = Table(f"Object open+load+attach+close, whole process (median of {n})", COLUMNS)
    for name, path in objects(opts.quick):
        log(f"objload: {name}")
        pm, cm = measure(path, n)
        own = pm["seconds"] - pm["prog_load_seconds"] - pm["close_seconds"] - pm["import_seconds"]
        ratio = pm["process"] / cm["process"]
        table.rows.append(
            [
                name,
                int(pm["programs"]),
                pm["process"],
                pm["rss"],
                pm["import_seconds"],
                pm["prog_load_seconds"],
                pm["close_seconds"],
                own,
                "libbpf C loader",
                cm["process"],
                cm["rss"],
                ratio,
                f"<= {TARGET:.1f}x",
                verdict(ratio <= TARGET),
            ]
        )
    table.notes.append(
        "pybpf own = in-process time - imports - BPF_PROG_LOAD - close; close is mostly the kernel "
        "tearing down tracepoint links (the C loader pays it too). Process time includes interpreter start."
    )
    return [table]

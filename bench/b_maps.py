"""Maps: a u32 -> u64 hash map filled, looked up and dumped, per element and by batch.

pybpf (Map: m[k] = v, m[k], iteration; update_batch, items() = BPF_MAP_LOOKUP_BATCH,
delete_batch) vs libbpf C (bpf_map_update_elem/lookup/get_next_key; the *_batch
calls, 4096 per call like pybpf) vs BCC (TableBase item access and items_*_batch).
One process per side; times are for N elements.
"""

from __future__ import annotations

from typing import Any

from common import (
    BCC_PYTHON,
    BENCH,
    BenchError,
    Child,
    Options,
    Table,
    bcc,
    bpf_object,
    c_program,
    log,
    python_worker,
    run_child,
    verdict,
)

OPS = [
    ("fill", "fill, per element", None),
    ("lookup", "lookup, per element", None),
    ("dump", "dump, per element (next_key + lookup)", None),
    ("fill_batch", "fill, batch", 2.0),
    ("dump_batch", "dump, batch", 2.0),
    ("delete_batch", "delete, batch", 2.0),
    ("fill_numpy", "fill, batch (numpy arrays)", 1.1),
    ("dump_numpy", "dump, batch (numpy arrays)", 1.1),
    ("delete_numpy", "delete, batch (numpy arrays)", 1.1),
]
COLUMNS = [
    "operation",
    "N",
    "pybpf ms",
    "pybpf ns/elem",
    "libbpf C ms",
    "BCC ms",
    "ratio vs C",
    "ratio vs BCC",
    "target",
    "verdict",
]
BATCH = 4096
# the numpy rows compare with the same libbpf batch calls (C has no other kind of array)
C_KEY = {"fill_numpy": "fill_batch", "dump_numpy": "dump_batch", "delete_numpy": "delete_batch"}


def measure(n: int, with_bcc: bool) -> tuple[Child, Child, Child | None]:
    """One run of each side on an ``n``-element map."""
    obj = bpf_object(BENCH / "bpf" / "maps.bpf.c", "maps")
    c = run_child([str(c_program("maps")), str(n), str(BATCH)])
    py = run_child(python_worker("maps_pybpf", str(obj), str(n)), timeout=600)
    bc = None
    if with_bcc:
        b = bcc()
        bc = run_child(
            [BCC_PYTHON, str(BENCH / "bcc" / "maps_bcc.py"), str(n)], env=b.env, timeout=600
        )
    if py.data["checksum"] != c.data["checksum"]:
        raise BenchError("pybpf and libbpf C disagree on the lookup checksum")
    return py, c, bc


def run(opts: Options) -> list[Table]:
    """One table for the 1,000,000-element map (10,000 with --quick)."""
    n = 10_000 if opts.quick else 1_000_000
    b = bcc() if opts.bcc and not opts.quick else None
    log(f"maps: N={n}")
    py, c, bc = measure(n, b is not None and b.ok)
    table = Table(f"Hash map u32 -> u64, {n:,} elements", COLUMNS)
    for key, label, target in OPS:
        p_ms, c_ms = py.data[key] * 1e3, c.data[C_KEY.get(key, key)] * 1e3
        b_ms = bc.data[key] * 1e3 if bc is not None and key in bc.data else None
        ratio = p_ms / c_ms
        row: list[Any] = [label, n, p_ms, p_ms * 1e6 / n, c_ms, b_ms, ratio]
        row.append(p_ms / b_ms if b_ms else None)
        if target is None:
            row += ["-", "-"]
        else:
            row += [f"<= {target:.1f}x C", verdict(ratio <= target)]
        table.rows.append(row)
    if b is None:
        table.notes.append("BCC reference skipped: " + ("--quick" if opts.quick else "--no-bcc"))
    elif not b.ok:
        table.notes.append(f"BCC reference skipped: {b.reason}")
    else:
        table.notes.append(
            f"BCC reference: {b.reason}; BCC's batch calls pass all N elements in one syscall"
        )
    table.notes.append(
        "ratio < 1 means pybpf is faster; the batch rows include encoding Python ints and decoding "
        "them back; the numpy rows pass uint32/uint64 arrays to the kernel by address (no copy)"
    )
    return [table]

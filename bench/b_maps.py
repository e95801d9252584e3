"""Maps: a u32 -> u64 hash map filled, looked up and dumped, per element and by batch.

pybpf (Map: m[k] = v, m[k], iteration; update_batch, items() = BPF_MAP_LOOKUP_BATCH,
delete_batch) vs libbpf C (bpf_map_update_elem/lookup/get_next_key; the *_batch
calls, 4096 per call like pybpf) vs BCC (TableBase item access and items_*_batch).
One process per side; times are CPU time (user + system) for N elements. The batch rows
are medians over REPEATS processes a side, C and pybpf interleaved.
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
    median,
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
REPEATS = 7
# the numpy rows compare with the same libbpf batch calls (C has no other kind of array),
# made in C's second batch round: pybpf's numpy round is its second too (same map state)
C_KEY = {"fill_numpy": "fill_batch2", "dump_numpy": "dump_batch2", "delete_numpy": "delete_batch2"}
BATCH_KEYS = [key for key, _, target in OPS if target is not None]


def measure(n: int, with_bcc: bool, repeats: int) -> tuple[Child, Child, Child | None]:
    """One full run of each side on an ``n``-element map, then ``repeats - 1`` batch-only
    runs of C and pybpf in turn; the batch keys of the returned children are medians."""
    obj = bpf_object(BENCH / "bpf" / "maps.bpf.c", "maps")
    prog = str(c_program("maps"))
    c = run_child([prog, str(n), str(BATCH)])
    py = run_child(python_worker("maps_pybpf", str(obj), str(n)), timeout=600)
    cs, pys = [c], [py]
    for _ in range(repeats - 1):
        cs.append(run_child([prog, str(n), str(BATCH), "batch"]))
        pys.append(run_child(python_worker("maps_pybpf", str(obj), str(n), "batch"), timeout=600))
    for key in BATCH_KEYS:
        py.data[key] = median([p.data[key] for p in pys])
        ck = C_KEY.get(key, key)
        c.data[ck] = median([x.data[ck] for x in cs])
    bc = None
    if with_bcc:
        b = bcc()
        bc = run_child(
            [BCC_PYTHON, str(BENCH / "bcc" / "maps_bcc.py"), str(n)], env=b.env, timeout=600
        )
    if any(p.data["checksum"] != c.data["checksum"] for p in pys + cs):
        raise BenchError("pybpf and libbpf C disagree on the lookup checksum")
    return py, c, bc


def run(opts: Options) -> list[Table]:
    """One table for the 1,000,000-element map (10,000 with --quick)."""
    n = 10_000 if opts.quick else 1_000_000
    b = bcc() if opts.bcc and not opts.quick else None
    repeats = 2 if opts.quick else REPEATS
    log(f"maps: N={n}, batch rows median of {repeats}")
    py, c, bc = measure(n, b is not None and b.ok, repeats)
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
    table.notes.append(
        f"CPU time (user + system) of each operation; batch rows: median of {repeats} processes "
        "a side, C and pybpf in turn (per-element rows: one). Each side runs two batch rounds "
        "(fill, dump, delete) on the emptied map: libbpf C's first round is compared with the "
        "Python-int rows, its second with the numpy rows. Every delete removes the keys in "
        "insertion order, 4096 per syscall (deleting them in the dump's bucket order costs the "
        "kernel about 25% less)"
    )
    return [table]

"""pybpf side of the map benchmark on the u32 -> u64 hash map of bench/bpf/maps.bpf.c.

argv: OBJ N [batch]. Per element (skipped with "batch") (m[k] = v, m[k], iterate + m[k]) then batches
(update_batch, items() = BPF_MAP_LOOKUP_BATCH, delete_batch), then the same batches on numpy
arrays (update_batch(keys, values), lookup_batch(), delete_batch(keys)); prints one JSON line
of CPU seconds (user + system) per operation. Both rounds delete the keys in insertion order,
as bench/c/maps.c does.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def per_element(m: Any, n: int, out: dict[str, float]) -> None:
    """Fill, look up and dump one element per call, then empty the map."""
    keys = range(n)
    t = time.process_time()
    for k in keys:
        m[k] = k * 3
    out["fill"] = time.process_time() - t

    t = time.process_time()
    total = 0
    for k in keys:
        total += m[k]
    out["lookup"] = time.process_time() - t
    out["checksum"] = total

    t = time.process_time()
    got = 0
    for k in m:
        m[k]
        got += 1
    out["dump"] = time.process_time() - t
    if got != n:
        raise SystemExit(f"per-element dump saw {got} of {n}")
    m.delete_batch(keys)


def main() -> None:
    os.sched_setaffinity(0, {0})
    import pybpf

    path, n = sys.argv[1], int(sys.argv[2])
    batch_only = len(sys.argv) > 3 and sys.argv[3] == "batch"
    obj = pybpf.load(path)
    m = obj.maps["h"]
    out: dict[str, float] = {"n": n, "checksum": sum(k * 3 for k in range(n))}
    keys = range(n)
    if not batch_only:
        per_element(m, n, out)

    t = time.process_time()
    m.update_batch(zip(keys, range(0, 3 * n, 3), strict=True))
    out["fill_batch"] = time.process_time() - t

    t = time.process_time()
    got = sum(1 for _ in m.items())
    out["dump_batch"] = time.process_time() - t
    if got != n:
        raise SystemExit(f"batch dump saw {got} of {n}")

    t = time.process_time()
    m.delete_batch(keys)
    out["delete_batch"] = time.process_time() - t
    if next(iter(m), None) is not None:
        raise SystemExit("batch delete left elements behind")

    import numpy as np

    karr = np.arange(n, dtype=np.uint32)
    varr = karr.astype(np.uint64) * 3
    t = time.process_time()
    m.update_batch(karr, varr)
    out["fill_numpy"] = time.process_time() - t

    t = time.process_time()
    ks, vs = m.lookup_batch()
    out["dump_numpy"] = time.process_time() - t
    if len(ks) != n or int(vs.sum()) != out["checksum"]:
        raise SystemExit(f"numpy dump saw {len(ks)} of {n} (or wrong values)")

    t = time.process_time()
    m.delete_batch(karr)
    out["delete_numpy"] = time.process_time() - t
    if next(iter(m), None) is not None:
        raise SystemExit("numpy batch delete left elements behind")
    obj.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

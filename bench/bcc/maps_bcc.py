"""BCC side of the map benchmark (Debian's /usr/bin/python3 with python3-bpfcc).

argv: N. A BPF_HASH(u32 -> u64) of N slots: per element (t[Key(k)] = Leaf(v),
t[Key(k)], t.items()), then batches (items_update_batch, items_lookup_batch,
items_delete_batch); prints one JSON line of CPU seconds (user + system) per operation.
"""

import json
import os
import sys
import time

from bcc import BPF  # type: ignore[import-not-found,attr-defined,unused-ignore]


def main() -> None:
    os.sched_setaffinity(0, {0})
    n = int(sys.argv[1])
    b = BPF(text=f"BPF_HASH(h, u32, u64, {max(n, 1_000_000)});")
    t = b["h"]
    Key, Leaf = t.Key, t.Leaf
    out: dict[str, float] = {"n": n}

    s = time.process_time()
    for k in range(n):
        t[Key(k)] = Leaf(k * 3)
    out["fill"] = time.process_time() - s

    s = time.process_time()
    total = 0
    for k in range(n):
        total += t[Key(k)].value
    out["lookup"] = time.process_time() - s
    out["checksum"] = total

    s = time.process_time()
    got = sum(1 for _ in t.items())
    out["dump"] = time.process_time() - s
    if got != n:
        raise SystemExit(f"per-element dump saw {got} of {n}")
    t.items_delete_batch()

    s = time.process_time()
    keys = (Key * n)(*range(n))
    vals = (Leaf * n)(*range(0, 3 * n, 3))
    t.items_update_batch(keys, vals)
    out["fill_batch"] = time.process_time() - s

    s = time.process_time()
    got = sum(1 for _ in t.items_lookup_batch())
    out["dump_batch"] = time.process_time() - s
    if got != n:
        raise SystemExit(f"batch dump saw {got} of {n}")

    s = time.process_time()
    t.items_delete_batch((Key * n)(*range(n)))
    out["delete_batch"] = time.process_time() - s
    b.cleanup()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

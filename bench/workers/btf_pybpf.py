"""pybpf side of the kernel BTF benchmark, one sample per process.

Times import of pybpf.btf, BTF.load_vmlinux() (parse + index, through the on-disk
cache under $PYBPF_CACHE_DIR) and one by-name lookup; prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "task_struct"
    t0 = time.perf_counter()
    from pybpf.btf import BTF, Kind

    t1 = time.perf_counter()
    btf = BTF.load_vmlinux(cache=True)
    t2 = time.perf_counter()
    ids = btf.find(name, Kind.STRUCT)
    t3 = time.perf_counter()
    if not ids:
        raise SystemExit(f"{name} not found")
    print(
        json.dumps(
            {
                "seconds": t3 - t0,
                "import_seconds": t1 - t0,
                "load_seconds": t2 - t1,
                "find_seconds": t3 - t2,
                "id": ids[0],
            }
        )
    )


if __name__ == "__main__":
    main()

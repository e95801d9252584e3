"""pybpf side of the object-load benchmark, one sample per process.

open + load + attach every program + close of one object. BPF_PROG_LOAD calls are
timed (pybpf.sys.progs.prog_load_log wrapped) to split pybpf's own time from the
kernel's verifier time; "import" is ``import pybpf`` alone (what load() imports on
first use is pybpf's own work). With ``--twice`` a second open+load+close of the same
object follows in the same process (``warm_load_*``: the loader already imported, the
kernel BTF already parsed). Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

T0 = time.perf_counter()
C0 = time.process_time()


def main() -> None:
    import pybpf

    t_import = time.perf_counter() - T0
    c_import = time.process_time() - C0
    import pybpf.sys.progs as progs  # (load() imports it anyway: counted as pybpf's own work)

    kernel = 0.0
    real = progs.prog_load_log

    def timed(*args: Any, **kw: Any) -> Any:
        nonlocal kernel
        t = time.perf_counter()
        try:
            return real(*args, **kw)
        finally:
            kernel += time.perf_counter() - t

    progs.prog_load_log = timed
    t0 = time.perf_counter()
    obj = pybpf.open(sys.argv[1])
    t1 = time.perf_counter()
    c1 = time.process_time()
    obj.load()
    t2 = time.perf_counter()
    c_load = time.process_time() - c1
    links = obj.attach()
    t3 = time.perf_counter()
    c3 = time.process_time()
    obj.close()
    t4 = time.perf_counter()
    c4 = time.process_time()
    warm: dict[str, float] = {}
    if "--twice" in sys.argv[2:]:
        again = pybpf.open(sys.argv[1])
        t5, c5 = time.perf_counter(), time.process_time()
        again.load()
        warm = {
            "warm_load_seconds": time.perf_counter() - t5,
            "warm_load_cpu_seconds": time.process_time() - c5,
        }
        again.close()
    print(
        json.dumps(
            {
                **warm,
                "seconds": t4 - T0,
                "import_seconds": t_import,
                "open_seconds": t1 - t0,
                "load_seconds": t2 - t1,
                "prog_load_seconds": kernel,
                "attach_seconds": t3 - t2,
                "close_seconds": t4 - t3,
                "cpu_seconds": c4 - C0,
                "import_cpu_seconds": c_import,
                "close_cpu_seconds": c4 - c3,
                "load_cpu_seconds": c_load,
                "programs": len(links),
            }
        )
    )


if __name__ == "__main__":
    main()

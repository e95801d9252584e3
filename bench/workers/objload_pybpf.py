"""pybpf side of the object-load benchmark, one sample per process.

open + load + attach every program + close of one object. Every system call pybpf
makes into the kernel for BPF (bpf(2), perf_event_open(2), perf ioctls) is timed at the
syscall seam (``pybpf.sys.syscall.replace_syscalls``), so that pybpf's own time is split
from the kernel's: BPF_PROG_LOAD (the verifier) apart, and all of them together (map
creation, BTF load, attach: what the C loader asks the kernel for too). "import" is
``import pybpf`` alone (what load() imports on first use is pybpf's own work). With ``--twice`` a second open+load+close of the same
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
    from pybpf.sys import syscall  # (load() imports it anyway: counted as pybpf's own work)

    PROG_LOAD = 5  # BPF_PROG_LOAD
    kernel = 0.0  # wall time in BPF_PROG_LOAD
    calls = [0.0, 0.0]  # wall, thread CPU time in every call into the kernel (till close)
    counting = True

    class Timed(syscall.Syscalls):
        def _timed(self, cmd: int, fn: Any, *args: Any) -> int:
            nonlocal kernel
            t, c = time.perf_counter(), time.thread_time()
            try:
                return int(fn(*args))
            finally:
                wall = time.perf_counter() - t
                if counting:
                    calls[0] += wall
                    calls[1] += time.thread_time() - c
                    if cmd == PROG_LOAD:
                        kernel += wall

        def bpf(self, cmd: int, attr: Any, size: int) -> int:
            return self._timed(cmd, super().bpf, cmd, attr, size)

        def perf_event_open(self, attr: Any, pid: int, cpu: int, group_fd: int, flags: int) -> int:
            return self._timed(-1, super().perf_event_open, attr, pid, cpu, group_fd, flags)

        def ioctl(self, fd: int, request: int, arg: Any) -> int:
            return self._timed(-1, super().ioctl, fd, request, arg)

    seam = syscall.replace_syscalls(Timed())
    seam.__enter__()
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
    counting = False
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
                "syscall_seconds": calls[0],
                "syscall_cpu_seconds": calls[1],
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

"""pybpf side of the ring/perf buffer benchmark, run in its own process.

argv[1] is a JSON job: obj, kind (ring|perf), consumer (raw|btf|batch|btf-batch), rec_size,
per_call, round, total, reps, pages. Prints one JSON line: per-sample timings.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def _dtype(rec_size: int) -> Any:
    import numpy as np

    fields: list[Any] = [("seq", "<u8"), ("pid", "<u4"), ("cpu", "<u4")]
    if rec_size > 16:
        fields.append(("data", "u1", (rec_size - 16,)))
    return np.dtype(fields)


def main() -> None:
    job = json.loads(sys.argv[1])
    os.sched_setaffinity(0, {0})
    import pybpf
    from pybpf.events.perfbuf import PerfBuffer
    from pybpf.events.ringbuf import RingBuffer

    obj = pybpf.open(job["obj"])
    obj.globals["target_tgid"] = os.getpid()
    obj.globals["per_call"] = job["per_call"]
    obj.load()
    obj.attach()
    got = 0

    def on_rec(rec: Any) -> None:
        nonlocal got
        got += 1

    def on_sample(cpu: int, rec: Any) -> None:
        nonlocal got
        got += 1

    def on_array(arr: Any) -> None:
        nonlocal got
        got += len(arr)

    kind, consumer = job["kind"], job["consumer"]
    drain: Callable[[], object]
    reader: Any
    if kind == "ring":
        if consumer == "raw":
            reader = RingBuffer(obj.maps["rb"].fd, on_rec)
        elif consumer == "btf":
            reader = obj.ringbuf("rb", on_rec, event_type="rec")
        else:
            reader = RingBuffer(obj.maps["rb"].fd)
        if consumer == "batch":
            dt = _dtype(job["rec_size"])
            rb = reader

            def drain() -> object:
                return rb.consume_batch(on_array, numpy_dtype=dt)
        else:
            drain = reader.consume
    elif consumer in ("batch", "btf-batch"):
        # as the ring's batch row: the consumer gets a numpy view per run and counts it
        dtype: Any = _dtype(job["rec_size"]) if consumer == "batch" else "rec"
        if consumer == "batch":
            reader = PerfBuffer(obj.maps["pb"].fd, page_cnt=job["pages"])
        else:
            reader = obj.perfbuf("pb", event_type="rec", page_cnt=job["pages"])
        pb = reader

        def on_cpu_array(cpu: int, arr: Any) -> None:
            nonlocal got
            got += len(arr)

        def drain() -> object:
            return pb.consume_batch(on_cpu_array, numpy_dtype=dtype)
    elif consumer == "raw":
        reader = PerfBuffer(obj.maps["pb"].fd, on_sample, page_cnt=job["pages"])
        drain = reader.consume
    else:
        reader = obj.perfbuf("pb", on_sample, event_type="rec", page_cnt=job["pages"])
        drain = reader.consume
    calls = job["round"] // job["per_call"]
    getppid = os.getppid
    cpu = time.process_time
    samples = []
    for r in range(-1, job["reps"]):  # -1: warm-up round
        want = job["round"] if r < 0 else job["total"]
        got = 0
        tc = cc = 0.0
        t0, c0 = time.perf_counter(), cpu()
        while got < want:
            for _ in range(calls):
                getppid()
            a, ca = time.perf_counter(), cpu()
            drain()
            tc += time.perf_counter() - a
            cc += cpu() - ca
        t1, c1 = time.perf_counter(), cpu()
        if r >= 0:
            samples.append(
                {
                    "events": got,
                    "seconds": t1 - t0,
                    "consume_seconds": tc,
                    "cpu_seconds": c1 - c0,
                    "consume_cpu_seconds": cc,
                }
            )
    lost = getattr(reader, "lost", 0)
    reader.close()
    obj.close()
    print(json.dumps({"samples": samples, "lost": lost}))


if __name__ == "__main__":
    main()

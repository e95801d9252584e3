"""BCC side of the ring/perf buffer benchmark (runs under Debian's /usr/bin/python3).

argv[1] is a JSON job: kind (ring|perf), consumer (raw|decoded), rec_size, per_call,
round, total, reps, pages. The producer is bench/bcc/ringprod.c. Prints one JSON line.
"""

import json
import os
import sys
import time

from bcc import BPF  # type: ignore[import-not-found,attr-defined,unused-ignore]


def main() -> None:
    job = json.loads(sys.argv[1])
    os.sched_setaffinity(0, {0})
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ringprod.c")
    flags = [
        f"-DTARGET_TGID={os.getpid()}",
        f"-DPER_CALL={job['per_call']}",
        f"-DREC_SIZE={job['rec_size']}",
        f"-DRING_PAGES={job['ring_bytes'] // 4096}",
    ]
    if job["kind"] == "perf":
        flags.append("-DPERF")
    b = BPF(src_file=src, cflags=flags)
    got = 0
    decoded = job["consumer"] == "decoded"
    table = b["pb" if job["kind"] == "perf" else "rb"]
    lost = 0

    def on_rec(ctx, data, size):  # type: ignore[no-untyped-def]
        nonlocal got
        if decoded:
            table.event(data)
        got += 1

    def on_lost(n):  # type: ignore[no-untyped-def]
        nonlocal lost
        lost += n

    if job["kind"] == "perf":
        table.open_perf_buffer(on_rec, page_cnt=job["pages"], lost_cb=on_lost)
        drain = b.perf_buffer_consume
    else:
        table.open_ring_buffer(on_rec)
        drain = b.ring_buffer_consume
    calls = job["round"] // job["per_call"]
    getppid = os.getppid
    cpu = time.process_time
    samples = []
    for r in range(-1, job["reps"]):
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
    b.cleanup()
    print(json.dumps({"samples": samples, "lost": lost}))


if __name__ == "__main__":
    main()

"""Worker of the export benchmark: one scrape of a map of N keyed series, two ways.

argv: MODE N [SCRAPES]. The map is the exec-count example's (key: char comm[16],
value: u64), enlarged to N entries and filled with N distinct comms; the metric is
the example's (label comm, string decoder).

- ``scrape``: the time of one scrape (read the map, decode labels, build the metric
  family, render /metrics text), median of a few, through pybpf's batch lookups and
  through per-key lookups (get_next_key + lookup per key: ebpf_exporter's and BCC's
  way of walking a map). Prints one JSON line of milliseconds.
- ``rss``: SCRAPES scrapes (read + render) in a row; RSS after a warm-up and at the end.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from typing import Any


def rss_kb() -> int:
    """Current resident set size in KiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def setup(n: int) -> tuple[Any, Any, Any]:
    """The loaded object with N series, the bound metric and a registry around it."""
    import pybpf
    from pybpf.export.collector import _Metric
    from pybpf.export.config import load_config
    from pybpf.export.daemon import resolve_config

    cfg = load_config(resolve_config("exec-count"))
    oc = cfg.objects[0]
    obj = pybpf.open(oc.path)
    m = obj.maps["exec_count"]
    m.max_entries = n
    obj.load()  # not attached: only the benchmark writes the map
    keys = [f"c{i:09d}x".encode().ljust(16, b"\0") for i in range(n)]
    m.update_batch(zip(keys, range(1, n + 1), strict=True))
    metric = _Metric(cfg.namespace, obj, oc.metrics[0], oc)

    class One:
        """The exporter's collector reduced to this one metric."""

        def collect(self) -> Any:
            yield metric.family()

    return obj, metric, One()


def scrape_times(metric: Any, reg: Any, n: int, reps: int) -> dict[str, float]:
    """Medians of: reading the map into the metric family, and a whole scrape
    (read + the /metrics text), in ms."""
    from pybpf.export.exposition import render

    read, scrape, cpu = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        fam = metric.family()
        read.append(time.perf_counter() - t0)
        if len(fam.data) != n:
            raise SystemExit(f"scrape saw {len(fam.data)} series of {n}")
        t0, c0 = time.perf_counter(), time.process_time()
        text = render(reg)
        scrape.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if text.count(b"\npybpf_exec_total{") != n:
            raise SystemExit("the /metrics text lacks series")
    return {
        "read_ms": statistics.median(read) * 1e3,
        "scrape_ms": statistics.median(scrape) * 1e3,
        "scrape_cpu_ms": statistics.median(cpu) * 1e3,
    }


def main() -> None:
    os.sched_setaffinity(0, {0})
    mode, n = sys.argv[1], int(sys.argv[2])
    obj, metric, reg = setup(n)
    out: dict[str, Any] = {"n": n}
    if mode == "scrape":
        reps = 5
        batch = scrape_times(metric, reg, n, reps)
        out.update({f"batch_{k}": v for k, v in batch.items()})
        metric.reader.map.batch_ops = False  # the per-key walk: next_key + lookup per key
        per_key = scrape_times(metric, reg, n, reps)
        out.update({f"perkey_{k}": v for k, v in per_key.items()})
    else:
        from pybpf.export.exposition import render

        scrapes = int(sys.argv[3])
        warm = min(100, scrapes // 10)
        t0 = time.perf_counter()
        for i in range(scrapes):
            render(reg)
            if i + 1 == warm:
                out["rss_warm_kb"] = rss_kb()
        out["seconds"] = time.perf_counter() - t0
        out["rss_end_kb"] = rss_kb()
        out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["scrapes"] = scrapes
    obj.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

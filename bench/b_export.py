"""``pybpf export``: one scrape of a map with 100,000 keyed series, and RSS over
10,000 scrapes.

The map is the exec-count example's (key ``char comm[16]``, value u64) enlarged and
filled with distinct comms; a scrape reads it, decodes the ``comm`` label and renders
/metrics. Two ways of reading the map: pybpf's batch lookups, and ebpf_exporter's way
(per-key ``get_next_key`` + ``lookup``, as BCC walks a map), same decoding after.

RSS: the default run scrapes a 1,000-series map 10,000 times (seconds); set
``PYBPF_BENCH_EXPORT_LONG=1`` to scrape the 100,000-series map 10,000 times (about
half an hour on an idle 2-CPU machine).
"""

from __future__ import annotations

import os
from typing import Any

from common import Options, Table, log, python_worker, run_child, verdict

TARGET_MS = 250.0
RSS_SLACK_KB = 1024  # "flat": at most 1 MiB more than after the warm-up scrapes


def run(opts: Options) -> list[Table]:
    """The scrape table and the RSS table."""
    n = 2_000 if opts.quick else 100_000
    log(f"export: one scrape of {n:,} series")
    c = run_child(python_worker("export_pybpf", "scrape", str(n)), timeout=900)
    d = c.data
    cols = ["map read", "series", "read ms", "scrape ms", "scrape CPU ms", "ratio vs per-key",
            "target", "verdict"]  # fmt: skip
    t1 = Table(f"Export: one scrape of a map with {n:,} keyed series", cols)
    batch, per_key = d["batch_scrape_ms"], d["perkey_scrape_ms"]
    t1.rows.append(
        ["pybpf batch lookups", n, d["batch_read_ms"], batch, d["batch_scrape_cpu_ms"],
         batch / per_key,
         f"< {TARGET_MS:.0f} ms", verdict(batch < TARGET_MS) if not opts.quick else "-"]
    )  # fmt: skip
    t1.rows.append(
        ["per-key next_key + lookup (ebpf_exporter, BCC)", n, d["perkey_read_ms"], per_key,
         d["perkey_scrape_cpu_ms"], 1.0, "-", "-"]
    )  # fmt: skip
    t1.notes.append(
        "read: map -> metric family (labels decoded); scrape: read + /metrics text; "
        "median of 5, pinned to one CPU; CPU ms is the process's CPU time (wall time also "
        "counts waiting for a busy CPU)"
    )

    long = os.environ.get("PYBPF_BENCH_EXPORT_LONG") == "1"
    rn = n if long else (1_000 if not opts.quick else 100)
    scrapes = 200 if opts.quick else 10_000
    log(f"export: RSS over {scrapes:,} scrapes of {rn:,} series")
    r = run_child(python_worker("export_pybpf", "rss", str(rn), str(scrapes)), timeout=7200)
    rd: dict[str, Any] = r.data
    growth = rd["rss_end_kb"] - rd["rss_warm_kb"]
    t2 = Table(
        "Export: RSS over repeated scrapes",
        ["series", "scrapes", "seconds", "RSS after warm-up KiB", "RSS at end KiB",
         "growth KiB", "target", "verdict"],
    )  # fmt: skip
    t2.rows.append(
        [rn, scrapes, rd["seconds"], rd["rss_warm_kb"], rd["rss_end_kb"], growth,
         f"<= {RSS_SLACK_KB} KiB", verdict(growth <= RSS_SLACK_KB)]
    )  # fmt: skip
    if not long:
        t2.notes.append("PYBPF_BENCH_EXPORT_LONG=1 runs this on the 100,000-series map")
    return [t1, t2]

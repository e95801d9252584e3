"""Smoke test of the export benchmark: ``bench/run.py export --quick`` produces both
tables (no timing is asserted: speed lives in bench/, not in tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_bench_export_quick(kernel: Any, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "export", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    tables = json.loads(out.read_text())["benchmarks"]["export"]["tables"]
    scrape, rss = tables
    rows = {r["map read"]: r for r in scrape["rows"]}
    assert set(rows) == {"pybpf batch lookups", "per-key next_key + lookup (ebpf_exporter, BCC)"}
    assert all(r["series"] == 2000 and r["scrape ms"] > 0 for r in rows.values())
    (r,) = rss["rows"]
    assert r["scrapes"] == 200 and r["RSS at end KiB"] > 0 and r["verdict"] in ("PASS", "MISS")

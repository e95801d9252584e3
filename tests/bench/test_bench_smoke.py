"""Smoke test of the benchmark harness: bench/run.py --quick must still produce its
tables and JSON (no timing is asserted: speed lives in bench/, not in tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import need_tool

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_writes_tables_and_json(kernel: Any, tmp_path: Path) -> None:
    need_tool("gcc", "builds the libbpf C references")
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "ringbuf",
            "btf",
            "maps",
            "--quick",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ring buffer throughput" in proc.stdout
    assert "Kernel BTF" in proc.stdout
    assert "Hash map" in proc.stdout
    doc = json.loads(out.read_text())
    assert set(doc["benchmarks"]) == {"ringbuf", "btf", "maps"}
    ring = doc["benchmarks"]["ringbuf"]["tables"][0]
    rows = ring["rows"]
    assert rows and all(r["pybpf e2e ev/s"] > 0 for r in rows)
    batch = [r for r in rows if r["pybpf consumer"] == "batch (numpy view)"]
    assert batch and batch[0]["e2e"] in ("PASS", "MISS")
    bound = doc["benchmarks"]["ringbuf"]["tables"][1]["rows"]
    assert [r["record"] for r in bound] == ["16 B"]
    assert bound[0]["instant e2e ns/rec"] > 0 and bound[0]["libbpf C consumer ns/rec"] > 0
    maps = doc["benchmarks"]["maps"]["tables"][0]["rows"]
    assert {r["operation"] for r in maps} >= {"fill, batch", "dump, batch"}
    btf = doc["benchmarks"]["btf"]["tables"][0]["rows"]
    assert [r["case"] for r in btf] == [
        "cold (empty cache)",
        "second run (builds the name index)",
        "warm (cached index)",
    ]

"""The /metrics text of big counter/gauge families (rendered by pybpf) says the same as
prometheus_client's own exposition of the same samples, escapes included."""

from __future__ import annotations

import subprocess
import sys

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pybpf.export.exposition import SeriesFamily, render


class _Fams:
    def __init__(self, *fams: object) -> None:
        self.fams = fams

    def collect(self):  # type: ignore[no-untyped-def]
        return list(self.fams)


def parsed(text: bytes) -> list[tuple[str, str, str, list[tuple[str, dict[str, str], float]]]]:
    return [
        (f.name, f.type, f.documentation, [(s.name, s.labels, s.value) for s in f.samples])
        for f in text_string_to_metric_families(text.decode())
    ]


def test_series_family_matches_prometheus_client() -> None:
    one = SeriesFamily(
        "pybpf_exec_total", 'execs "by"\ncomm \\', "counter", ["comm"],
        {("bash",): 3, ('we"ird\\\n',): 2**40, ("sh",): 1},
    )  # fmt: skip
    two = SeriesFamily(
        "pybpf_bytes", "bytes", "gauge", ["proto", "dir"],
        {("tcp", "in"): 1.5, ("udp", "out"): 7, ("icmp", ""): float("inf")},
    )  # fmt: skip
    empty = SeriesFamily("pybpf_none", "nothing", "counter", ["x"], {})
    hist = HistogramMetricFamily("pybpf_lat_seconds", "latency", labels=["op"])
    hist.add_metric(["read"], [("0.5", 1), ("1.0", 3), ("+Inf", 4)], 2.5)
    mine = render(_Fams(one, hist, two, empty))
    # prometheus_client's own rendering of the same families (it reads .samples)
    theirs = generate_latest(_Fams(one, hist, two, empty))  # type: ignore[arg-type]
    assert parsed(mine) == parsed(theirs)
    assert b'pybpf_exec_total{comm="bash"} 3\n' in mine
    assert b"pybpf_exec_total" in mine and mine.count(b"# TYPE") == 4
    assert one.samples[0].name == "pybpf_exec_total" and one.samples[0].value == 3.0
    # the label text cache survives to the next scrape, and is what was rendered
    assert one.fragments[0]["bash"] == 'pybpf_exec_total{comm="bash"} '
    assert render(_Fams(one)) == render(_Fams(one))


def test_import_pybpf_stays_light() -> None:
    code = (
        "import sys, pybpf, pybpf.cli.main\n"
        "pybpf.cli.main.build_parser()\n"
        "bad = [m for m in ('prometheus_client', 'yaml', 'pybpf.export.collector') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""``pybpf export`` scraped by a real Prometheus server (Debian's ``prometheus``):
the counters and histogram counts Prometheus stores are what the test made happen."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import need_tool
from tests.export.exporter import ExporterProcess, free_port, run_n
from tests.export.test_export_kernel import CONFIG, SECOND, ask, getppid_child

pytestmark = pytest.mark.usefixtures("kernel")


class Prometheus:
    """A Prometheus server on loopback scraping one target every second."""

    def __init__(self, tmp: Path, target: str) -> None:
        binary = need_tool("prometheus", "scripts/setup.sh installs Debian's prometheus")
        self.port = free_port()
        cfg = tmp / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: pybpf\n    scrape_interval: 1s\n"
            f"    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{target}']\n"
        )
        self.log = (tmp / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={cfg}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.log_path = tmp / "prometheus.log"
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"prometheus not ready in {timeout} s:\n{self.log_path.read_text()}")

    def query(self, expr: str) -> float | None:
        """An instant query's single value (None: no series)."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr}
        )
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        result = body["data"]["result"]
        if not result:
            return None
        assert len(result) == 1, result
        return float(result[0]["value"][1])

    def wait_value(self, expr: str, want: float, timeout: float = 30.0) -> float | None:
        """Poll until ``expr`` equals ``want``; the last value seen."""
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = self.query(expr)
            if got == want:
                return got
            time.sleep(0.5)
        return got

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture()
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


def test_prometheus_scrapes_counters_and_histograms(workdir: Path) -> None:
    exe = workdir / f"pxp{os.getpid() % 100000}t"
    shutil.copy("/bin/true", exe)
    child = getppid_child()
    cfg = workdir / "export.yaml"
    cfg.write_text(CONFIG + SECOND.format(pid=child.pid, decoder="syscall"))
    exporter = ExporterProcess(str(cfg))
    prom: Prometheus | None = None
    try:
        exporter.started()
        prom = Prometheus(workdir, exporter.listen)
        assert prom.wait_value('up{job="pybpf"}', 1.0) == 1.0, "Prometheus never scraped"
        run_n([str(exe)], 9)
        ask(child, 120)
        comm = f'comm="{exe.name}"'
        assert prom.wait_value(f"pybpf_exec_total{{{comm}}}", 9.0) == 9.0
        sel = 'syscall="getppid"'
        assert prom.wait_value(f"pybpf_lat_seconds_count{{{sel}}}", 120.0) == 120.0
        assert prom.query(f'pybpf_lat_seconds_bucket{{{sel},le="+Inf"}}') == 120.0
        # the buckets Prometheus stored make a usable histogram
        median = prom.query(f"histogram_quantile(0.5, pybpf_lat_seconds_bucket{{{sel}}})")
        assert median is not None and 0 < median < 0.01
        total = prom.query(f"pybpf_lat_seconds_sum{{{sel}}}")
        assert total is not None and 0 < total < 120 * 0.01
        # more work shows up in the next scrapes
        run_n([str(exe)], 3)
        assert prom.wait_value(f"pybpf_exec_total{{{comm}}}", 12.0) == 12.0
        assert prom.query('pybpf_map_read_errors_total{object="execs"}') is None
    finally:
        child.kill()
        child.wait()
        if prom is not None:
            prom.close()
        rc = exporter.stop()
        exporter.close()
    assert rc == 0

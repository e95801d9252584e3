"""``pybpf export`` against the real kernel: every shipped example loads, attaches and
reports what the test makes happen; the daemon's signals; errors become metrics."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.export.exporter import ExporterProcess, run_n

pytestmark = pytest.mark.usefixtures("kernel")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture()
def exporters() -> Iterator[list[ExporterProcess]]:
    """Exporters started by a test; any still running at the end is killed."""
    started: list[ExporterProcess] = []
    yield started
    for e in started:
        e.close()


def start(exporters: list[ExporterProcess], config: str, **env: str) -> ExporterProcess:
    e = ExporterProcess(config, env=env)
    exporters.append(e)
    return e.started()


def value(s: Samples, name: str, **labels: str) -> float | None:
    return s.get((name, frozenset(labels.items())))


def series(s: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in s.items() if n == name}


def unique_true(tmp_path: Path) -> Path:
    """A copy of /bin/true with a name (comm) no other process uses."""
    exe = tmp_path / f"pxe{os.getpid() % 100000}t"
    shutil.copy("/bin/true", exe)
    return exe


def check_histogram(s: Samples, base: str, **labels: str) -> tuple[float, float]:
    """Buckets cumulative, +Inf equal to _count; returns (_count, _sum)."""
    want = frozenset(labels.items())
    buckets = sorted(
        (float(dict(lab)["le"]), v)
        for lab, v in series(s, f"{base}_bucket").items()
        if want <= lab and len(lab) == len(want) + 1
    )
    assert buckets, f"no {base} buckets for {labels}"
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), f"{base} buckets are not cumulative: {buckets}"
    count = value(s, f"{base}_count", **labels)
    total = value(s, f"{base}_sum", **labels)
    assert count is not None and total is not None
    assert buckets[-1] == (float("inf"), count)
    return count, total


def prog_ids(s: Samples) -> dict[str, str]:
    return {dict(lab)["program"]: dict(lab)["id"] for lab in series(s, "pybpf_program_info")}


def prog_exists(prog_id: str) -> bool:
    import pybpf
    from pybpf.errors import BPFError

    try:
        pybpf.Program.from_id(int(prog_id)).close()
    except BPFError:
        return False
    return True


# -- the shipped examples --------------------------------------------------------------------


def test_exec_count_by_name(exporters: list[ExporterProcess], tmp_path: Path) -> None:
    exe = unique_true(tmp_path)
    e = start(exporters, "exec-count")
    assert value(e.samples(), "pybpf_exec_total", comm=exe.name) is None
    run_n([str(exe)], 7)
    s = e.samples()
    assert value(s, "pybpf_exec_total", comm=exe.name) == 7
    ids = prog_ids(s)
    assert list(ids) == ["count_exec"] and prog_exists(ids["count_exec"])
    assert value(s, "process_resident_memory_bytes") > 0  # type: ignore[operator]
    maps = {dict(lab)["map"]: dict(lab) for lab in series(s, "pybpf_map_info")}
    assert maps["exec_count"]["type"] == "hash" and maps["exec_count"]["max_entries"] == "10240"
    assert e.stop(signal.SIGTERM) == 0
    assert not prog_exists(ids["count_exec"]), "SIGTERM left the program loaded"


def test_exec_count_rodata(exporters: list[ExporterProcess], tmp_path: Path) -> None:
    """``targ_uid`` in .rodata from the config: another user's execs are not counted."""
    exe = unique_true(tmp_path)
    e = start(exporters, "exec-count", PYBPF_EXPORT_UID=str(os.getuid() + 4242))
    run_n([str(exe)], 3)
    assert value(e.samples(), "pybpf_exec_total", comm=exe.name) is None
    assert e.stop(signal.SIGINT) == 0


def getppid_child() -> subprocess.Popen[str]:
    """A Python child that makes N getppid() calls when told N on stdin."""
    code = "import os,sys\nfor line in sys.stdin:\n    [os.getppid() for _ in range(int(line))]\n    print('done', flush=True)\n"
    return subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def ask(child: subprocess.Popen[str], n: int) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(f"{n}\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "done"


def test_syscall_latency(exporters: list[ExporterProcess]) -> None:
    child = getppid_child()
    try:
        e = start(exporters, "syscall-latency", PYBPF_EXPORT_PID=str(child.pid))
        ask(child, 250)
        s = e.samples()
    finally:
        child.kill()
        child.wait()
    count, total = check_histogram(s, "pybpf_syscall_latency_seconds", syscall="getppid")
    assert count == 250
    # the exact sum: positive, and below 2^slot ns for each call of the highest slot
    assert 0 < total < 250 * 0.01
    assert value(s, "pybpf_syscall_latency_seconds_count", syscall="execve") is None
    assert e.stop() == 0


def test_biolatency(exporters: list[ExporterProcess], tmp_path: Path) -> None:
    e = start(exporters, "biolatency")
    path = Path("/var/tmp") / f"pybpf-export-bio-{os.getpid()}"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_DIRECT | os.O_TRUNC, 0o600)
    try:
        import mmap

        buf = mmap.mmap(-1, 4096)
        buf.write(b"x" * 4096)
        for i in range(20):
            os.pwrite(fd, buf, i * 4096)
        os.fsync(fd)
    finally:
        os.close(fd)
        path.unlink()
    dev = os.major(os.stat("/var/tmp").st_dev), os.minor(os.stat("/var/tmp").st_dev)
    name = (
        Path(f"/sys/dev/block/{dev[0]}:{dev[1]}/uevent").read_text().split("DEVNAME=")[1].split()[0]
    )
    s = e.samples()
    count, total = check_histogram(s, "pybpf_bio_latency_seconds", device=name, operation="write")
    assert count >= 20 and total > 0
    assert e.stop() == 0


def test_runqlat(exporters: list[ExporterProcess]) -> None:
    e = start(exporters, "runqlat")
    for _ in range(20):
        time.sleep(0.005)  # each wakeup is a trip through the run queue
    s = e.samples()
    count, total = check_histogram(s, "pybpf_runqueue_latency_seconds")
    assert count >= 20 and total > 0
    assert len(prog_ids(s)) == 3
    assert e.stop() == 0


def _netns(name: str) -> None:
    subprocess.run(["ip", "netns", "add", name], check=True)


def test_tcp_retrans(exporters: list[ExporterProcess]) -> None:
    """A SYN to a neighbour that never answers is retransmitted after 1 s (the client
    waits 3.5 s: on a busy host the retransmit timer can fire well after its 1 s, and the
    socket's close would cancel it)."""
    tag = f"{os.getpid() % 100000}"
    ns, a, b = f"pxe-tcp-{tag}", f"pxa{tag}", f"pxb{tag}"
    n = os.getpid() % 200 + 20
    dst, port = f"10.198.{n}.2", 40000 + os.getpid() % 20000
    _netns(ns)
    try:

        def ip(*args: str) -> None:
            subprocess.run(["ip", "-n", ns, *args], check=True)

        ip("link", "add", a, "type", "veth", "peer", "name", b)
        ip("addr", "add", f"10.198.{n}.1/24", "dev", a)
        ip("link", "set", a, "up")
        ip("link", "set", b, "up")  # b has no address: it drops what it gets
        ip("neigh", "replace", dst, "lladdr", "02:00:00:00:00:02", "dev", a)
        e = start(exporters, "tcp-retrans")
        code = (
            "import socket\n"
            f"s = socket.socket(); s.settimeout(3.5)\n"
            f"try: s.connect(('{dst}', {port}))\nexcept OSError: pass\n"
        )
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], check=True)
        s = e.samples()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    got = value(s, "pybpf_tcp_retransmits_total", daddr=dst, dport=str(port), family="ipv4")
    assert got is not None and got >= 1, series(s, "pybpf_tcp_retransmits_total")
    assert e.stop() == 0


def test_xdp_proto(exporters: list[ExporterProcess]) -> None:
    """XDP on a veth whose peer, in a netns, sends 5 UDP datagrams: 5 UDP packets."""
    tag = f"{os.getpid() % 100000}"
    ns, host, peer = f"pxe-xdp-{tag}", f"pxh{tag}", f"pxp{tag}"
    n = os.getpid() % 200 + 20
    host_addr, peer_addr = f"10.197.{n}.1", f"10.197.{n}.2"
    _netns(ns)
    try:
        subprocess.run(
            ["ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns],
            check=True,
        )
        subprocess.run(["ip", "addr", "add", f"{host_addr}/30", "dev", host], check=True)
        subprocess.run(["ip", "link", "set", host, "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", f"{peer_addr}/30", "dev", peer], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", peer, "up"], check=True)
        mac = (
            subprocess.run(
                ["ip", "-o", "link", "show", host], check=True, capture_output=True, text=True
            )
            .stdout.split("link/ether", 1)[1]
            .split()[0]
        )
        subprocess.run(
            ["ip", "-n", ns, "neigh", "replace", host_addr, "lladdr", mac, "dev", peer], check=True
        )
        e = start(exporters, "xdp-proto", PYBPF_EXPORT_IFACE=host)
        code = (
            "import socket\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"for _ in range(5): s.sendto(bytes(100), ('{host_addr}', 9))\n"
        )
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], check=True)
        s = e.samples()
        assert value(s, "pybpf_xdp_packets_total", protocol="udp") == 5
        assert value(s, "pybpf_xdp_bytes_total", protocol="udp") == 5 * (14 + 20 + 8 + 100)
        assert e.stop() == 0
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
        subprocess.run(["ip", "link", "del", host], check=False, capture_output=True)


# -- daemon behaviour --------------------------------------------------------------------------


CONFIG = """\
enable_stats: true
objects:
  - name: execs
    object: export_exec.bpf.o
    metrics:
      counters:
        - name: exec_total
          help: execs by comm
          map: exec_count
          labels:
            - name: comm
              decoders:
                - name: string
"""

SECOND = """\
  - name: lat
    object: export_syscall.bpf.o
    rodata:
      targ_tgid: {pid}
    metrics:
      histograms:
        - name: lat_seconds
          map: syscall_latency
          bucket_type: log2
          bucket_max: 40
          bucket_multiplier: 1.0e-9
          sum_map: syscall_latency_sum
          labels:
            - name: syscall
              decoders:
                - name: {decoder}
"""


def test_sighup_reload_keeps_counters(exporters: list[ExporterProcess], tmp_path: Path) -> None:
    exe = unique_true(tmp_path)
    cfg = tmp_path / "export.yaml"
    cfg.write_text(CONFIG)
    e = start(exporters, str(cfg))
    run_n([str(exe)], 4)
    s1 = e.samples()
    assert value(s1, "pybpf_exec_total", comm=exe.name) == 4
    # enable_stats: the kernel counts runs
    assert value(s1, "pybpf_program_run_count_total", object="execs", program="count_exec",
                 id=prog_ids(s1)["count_exec"]) >= 4  # type: ignore[operator]  # fmt: skip

    # add an object: the unchanged one keeps its program and its counts
    child = getppid_child()
    try:
        cfg.write_text(CONFIG + SECOND.format(pid=child.pid, decoder="syscall"))
        mark = len(e.lines)
        e.send(signal.SIGHUP)
        e.wait_for("reloaded", start=mark)
        run_n([str(exe)], 2)
        ask(child, 30)
        s2 = e.samples()
        assert prog_ids(s2)["count_exec"] == prog_ids(s1)["count_exec"]
        assert value(s2, "pybpf_exec_total", comm=exe.name) == 6
        assert value(s2, "pybpf_lat_seconds_count", syscall="getppid") == 30

        # a broken config: named by file, line and field; nothing changes
        cfg.write_text(
            CONFIG.replace(
                "          map: exec_count", "          map: exec_count\n          colour: red"
            )
        )
        mark = len(e.lines)
        e.send(signal.SIGHUP)
        e.wait_for("reload failed", start=mark)
        assert f"{cfg}:10: objects[0].metrics.counters[0].colour: unknown field" in e.stderr
        s3 = e.samples()
        assert prog_ids(s3) == prog_ids(s2)
        assert value(s3, "pybpf_lat_seconds_count", syscall="getppid") == 30

        # drop the second object: its programs go away, the first keeps counting
        cfg.write_text(CONFIG)
        mark = len(e.lines)
        e.send(signal.SIGHUP)
        e.wait_for("reloaded", start=mark)
        s4 = e.samples()
        assert set(prog_ids(s4)) == {"count_exec"}
        assert not prog_exists(prog_ids(s2)["sys_enter"])
        assert value(s4, "pybpf_exec_total", comm=exe.name) == 6
    finally:
        child.kill()
        child.wait()
    ids = prog_ids(s4)
    assert e.stop(signal.SIGTERM) == 0
    assert not prog_exists(ids["count_exec"])


def test_decode_error_is_a_metric(exporters: list[ExporterProcess], tmp_path: Path) -> None:
    """A label that cannot be decoded: a read-error sample and a log line; the scrape
    (and the other metrics) go on."""
    exe = unique_true(tmp_path)
    child = getppid_child()
    try:
        cfg = tmp_path / "export.yaml"
        cfg.write_text(CONFIG + SECOND.format(pid=child.pid, decoder="string"))
        e = start(exporters, str(cfg))
        ask(child, 3)
        run_n([str(exe)], 2)
        s = e.samples()
    finally:
        child.kill()
        child.wait()
    assert value(s, "pybpf_map_read_errors_total", object="lat", map="syscall_latency") == 1
    assert value(s, "pybpf_exec_total", comm=exe.name) == 2
    assert "reading map 'syscall_latency'" in e.stderr and "expected bytes" in e.stderr
    assert e.stop() == 0


def test_bad_config_fails_at_start(tmp_path: Path) -> None:
    cfg = tmp_path / "export.yaml"
    cfg.write_text(CONFIG.replace("map: exec_count", "map: exec_counts"))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    r = subprocess.run(
        [sys.executable, "-m", "pybpf", "export", str(cfg), "--listen", "127.0.0.1:1"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert (
        f"{cfg}:9: objects[0].metrics.counters[0].map: object 'execs' (export_exec.bpf.o) has no map"
        in r.stderr
    )
    assert "exec_count" in r.stderr  # the maps it has


def test_list() -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    r = subprocess.run(
        [sys.executable, "-m", "pybpf", "export", "--list"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == sorted(
        ["exec-count", "syscall-latency", "biolatency", "runqlat", "tcp-retrans", "xdp-proto"]
    )


def test_listen_busy() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "pybpf", "export", "exec-count", "--listen", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=60,
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src")),
        )  # fmt: skip
    assert r.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_bad_rodata_names_its_line(tmp_path: Path) -> None:
    cfg = tmp_path / "export.yaml"
    cfg.write_text(CONFIG.replace("    object: export_exec.bpf.o\n",
                                  "    object: export_exec.bpf.o\n    rodata:\n      targ_pid: 1\n"))  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    r = subprocess.run(
        [sys.executable, "-m", "pybpf", "export", str(cfg), "--listen", "127.0.0.1:1"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert f"{cfg}:6: objects[0].rodata.targ_pid: object 'execs': no global variable" in r.stderr
    assert "targ_uid" in r.stderr  # the variables it has


XDP_BAD = """\
  - name: xdp
    object: export_xdp.bpf.o
    attach:
      - program: xdp_count_proto
        interface: pxe-nope0
    metrics:
      counters:
        - name: xdp_packets_total
          map: xdp_protocols
          value_field: packets
"""


def test_reload_with_a_failing_object_changes_nothing(
    exporters: list[ExporterProcess], tmp_path: Path
) -> None:
    """An object that cannot attach (no such interface): the reload is refused, named by
    file and line, and the running object keeps its program and counts."""
    exe = unique_true(tmp_path)
    cfg = tmp_path / "export.yaml"
    cfg.write_text(CONFIG)
    e = start(exporters, str(cfg))
    run_n([str(exe)], 2)
    before = e.samples()
    cfg.write_text(CONFIG + XDP_BAD)
    mark = len(e.lines)
    e.send(signal.SIGHUP)
    e.wait_for("reload failed", start=mark)
    assert f"{cfg}:14: objects[1]: object 'xdp'" in e.stderr and "pxe-nope0" in e.stderr
    run_n([str(exe)], 1)
    after = e.samples()
    assert prog_ids(after) == prog_ids(before)
    assert value(after, "pybpf_exec_total", comm=exe.name) == 3
    assert e.stop() == 0

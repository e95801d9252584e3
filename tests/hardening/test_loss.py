"""Loss end to end: a real producer overflows a ring or perf buffer and the counts add up
(delivered + lost == produced); ``pybpf run`` reads perf samples and reports the loss."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from pybpf.sys.progs import prog_test_run

pytestmark = pytest.mark.usefixtures("kernel")

_ARGS = struct.Struct("<3Q")  # struct args of hard_loss.bpf.c


@pytest.fixture()
def lossobj(bpf_obj: Any) -> Iterator[Any]:
    import pybpf

    with pybpf.load(bpf_obj("hard_loss")) as obj:
        yield obj


def produce(obj: Any, count: int) -> tuple[int, int]:
    """Run hard_loss's producer: (records the ring took, records it refused)."""
    out = obj.programs["produce"].test_run(ctx=_ARGS.pack(count, 0, 0)).ctx_out
    _, written, failed = _ARGS.unpack(out)
    assert written + failed == count
    return written, failed


def test_ringbuf_overflow_counts_add_up(lossobj: Any) -> None:
    got: list[bytes] = []
    with lossobj.ringbuf("lossy", got.append) as rb:
        produced = lost = 0
        for burst in (2000, 50, 5000):
            _, failed = produce(lossobj, burst)
            produced += burst
            lost += failed
            rb.consume()
            assert rb.lost == lost  # every refused reserve/output was counted
            assert len(got) + rb.lost == produced
        assert lost > 0 and len(got) > 0
    assert rb.lost == lost  # still readable after close
    seqs = [struct.unpack_from("<Q", r)[0] for r in got]
    assert len(set(seqs)) == len(seqs)


def test_ringbuf_lost_is_per_ring_and_zero_without_loss(lossobj: Any) -> None:
    with lossobj.ringbuf("roomy", lambda r: None) as roomy, lossobj.ringbuf("lossy") as lossy:
        produce(lossobj, 1000)
        assert lossy.lost > 0
        assert roomy.lost == 0  # the other ring's counter is its own


def test_ringbuf_without_counter_map_reports_zero(kernel: None, bpf_obj: Any) -> None:
    import pybpf

    with pybpf.load(bpf_obj("events_ringbuf")) as obj, obj.ringbuf("small") as rb:
        assert rb.lost == 0


RUN_ON_CPU = 1  # BPF_F_TEST_RUN_ON_CPU


def test_perfbuf_lost_exact_without_a_flushing_sample(kernel: None, bpf_obj: Any) -> None:
    """The kernel writes a lost record only before the next sample that fits; the reader's
    count is exact at close even when no such sample came."""
    import pybpf

    got: list[bytes] = []
    with pybpf.load(bpf_obj("events_perf")) as obj:
        fd = obj.programs["produce"].fd
        pb = obj.perfbuf("events", lambda cpu, d: got.append(d), page_cnt=1)
        with pb:
            for count in (500, 300):
                prog_test_run(
                    fd,
                    ctx_in=struct.pack("<QQ", count, 16),
                    ctx_out_size=0,
                    flags=RUN_ON_CPU,
                    cpu=0,
                )
                pb.consume()
            failed = obj.globals["failed"]
            sent = obj.globals["sent"]
            assert failed > 0
            assert pb.lost == failed  # includes the drops no lost record announced yet
            assert len(got) == sent and len(got) + pb.lost == 800
        assert pb.lost == failed


def _run(obj: str, *extra: str, pid_calls: int = 0) -> tuple[int, str, str]:
    p = subprocess.Popen(
        [sys.executable, "-m", "pybpf", "run", obj, "--duration", "3", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    first = p.stdout.readline()
    while first and "start" not in first and "Running" not in first:
        first = p.stdout.readline()
    for _ in range(pid_calls):
        os.getpid()  # glibc does not cache getpid(): each one is a syscall
    out, err = p.communicate(timeout=60)
    return p.returncode, first + out, err


def test_run_reads_perf_samples(bpf_obj: Any) -> None:
    rc, out, err = _run(
        str(bpf_obj("events_perf")),
        "--set",
        f"target_pid={os.getpid()}",
        "--json",
        pid_calls=5,
    )
    assert rc == 0, err
    assert "Traceback" not in err and "TypeError" not in err
    events = [json.loads(line) for line in out.splitlines() if '"event"' in line]
    assert len(events) >= 5
    assert all(e["map"] == "events" for e in events)
    assert not any(json.loads(line)["type"] == "lost" for line in out.splitlines())


@pytest.mark.parametrize("as_json", [False, True])
def test_run_reports_ringbuf_loss(bpf_obj: Any, as_json: bool) -> None:
    """`pybpf run` prints "N events lost" at exit (and a "lost" JSON line): each getsid()
    writes a burst of 1000 records into a 4 KiB ring, most of which cannot fit."""
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pybpf",
            "run",
            str(bpf_obj("hard_loss")),
            "--duration",
            "3",
            "--set",
            f"target_pid={os.getpid()}",
            "--set",
            "burst=1000",
            *(["--json"] if as_json else []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    while line and "start" not in line and "Running" not in line:
        line = p.stdout.readline()
    for _ in range(3):
        os.getsid(0)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    lines = out.splitlines()
    if as_json:
        recs = [json.loads(x) for x in lines]
        delivered = sum(r["type"] == "event" and r["map"] == "lossy" for r in recs)
        lost = [r for r in recs if r["type"] == "lost"]
        assert len(lost) == 1 and lost[0]["map"] == "lossy"
        n = lost[0]["lost"]
    else:
        delivered = sum(x.startswith("loss_event:") for x in lines)
        lost_lines = [x for x in lines if x.endswith("events lost (lossy)")]
        assert len(lost_lines) == 1, lines[-5:]
        n = int(lost_lines[0].split()[0])
    assert n > 0 and delivered > 0
    assert delivered + n == 3000

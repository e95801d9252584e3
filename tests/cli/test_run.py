"""``pybpf run`` end to end on a test object: settings, events, printk and maps."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf.runner.hist import log2_slot, render_log2

pytestmark = pytest.mark.usefixtures("kernel")

ARGS = [1, 2, 3, 100, 100, 4096]


def _run(obj: Path, *extra: str) -> tuple[str, list[str]]:
    """Start ``pybpf run``, make the getpgid() calls once it runs, return (first, rest)."""
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pybpf",
            "run",
            str(obj),
            "--set",
            f"targ_pid={os.getpid()}",
            "--set",
            "enabled=true",
            "--set",
            "tag=hello-run",
            "--duration",
            "3",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stderr is not None
    first = p.stdout.readline()
    for a in ARGS:
        with contextlib.suppress(ProcessLookupError):
            os.getpgid(a)
    rest, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    return first.rstrip("\n"), rest.splitlines()


def test_run_json_events_printk_maps(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    first, lines = _run(bpf_obj("cli_run"), "--set", "mode=MODE_LOUD", "--json")
    assert json.loads(first) == {
        "type": "start",
        "object": str(bpf_obj("cli_run")),
        "attached": ["on_getpgid"],
    }
    recs = [json.loads(s) for s in lines]
    events = [r for r in recs if r["type"] == "event"]
    assert [e["data"] for e in events] == [
        {"pid": os.getpid(), "seq": i + 1, "arg": a, "tag": "hello-run", "mode": 2}
        for i, a in enumerate(ARGS)
    ]
    assert {e["struct"] for e in events} == {"struct run_event"}
    printk = [r["message"] for r in recs if r["type"] == "printk" and r["pid"] == os.getpid()]
    assert printk == [f"pybpf-run arg={a}" for a in ARGS]
    maps = {r["name"]: r for r in recs if r["type"] == "map"}
    want: dict[str, int] = {}
    for a in ARGS:
        want[str(log2_slot(a))] = want.get(str(log2_slot(a)), 0) + 1
    assert maps["sizes"]["histogram"] == {"": want}
    assert "histogram" not in maps["by_key"]
    assert [e["value"] for e in maps["by_key"]["entries"]] == [len(ARGS)]
    assert maps["by_key"]["entries"][0]["key"]["pid"] == os.getpid()
    glob = {r["name"]: r["value"] for r in recs if r["type"] == "global"}
    assert glob["hits"] == len(ARGS)
    assert glob["mode"] == "MODE_LOUD" and glob["tag"] == "hello-run" and glob["enabled"] is True


def test_run_text_histogram_and_events(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    first, lines = _run(bpf_obj("cli_run"), "--set", "mode=1")
    assert first == "Running cli_run.bpf.o: on_getpgid (Ctrl-C to stop)"
    pid = os.getpid()
    assert lines[: len(ARGS)] == [
        f"run_event: pid={pid} seq={i + 1} arg={a} tag=hello-run mode=1" for i, a in enumerate(ARGS)
    ]
    counts: dict[int, int] = {}
    for a in ARGS:
        counts[log2_slot(a)] = counts.get(log2_slot(a), 0) + 1
    at = lines.index("@sizes:")
    hist = render_log2(counts)
    assert lines[at + 1 : at + 1 + len(hist)] == hist
    assert "hits = 6" in lines
    assert not any(s.startswith("printk:") for s in lines)  # MODE_ON prints nothing


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("nope=1", "--set nope: no such global variable (known: "),
        ("mode=BOGUS", "--set mode: 'BOGUS' is not an integer"),
        ("tag=" + "x" * 17, "is longer than char[16]"),
        ("targ_pid", "--set 'targ_pid': want VAR=VALUE"),
    ],
)
def test_run_bad_setting_is_one_line(bpf_obj, setting: str, message: str) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [sys.executable, "-m", "pybpf", "run", str(bpf_obj("cli_run")), "--set", setting],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("pybpf: error: ")
    assert message in proc.stderr.splitlines()[0]
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback_with_its_causes(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """The message alone by default; ``--debug`` prints the traceback, and the error keeps
    what caused it (here the int() that could not read the value)."""
    cmd = ["run", str(bpf_obj("cli_run")), "--set", "mode=BOGUS"]
    plain, debug = (
        subprocess.run(
            [sys.executable, "-m", "pybpf", *pre, *cmd], capture_output=True, text=True, timeout=60
        )
        for pre in ([], ["--debug"])
    )
    assert plain.returncode == 1 and len(plain.stderr.strip().splitlines()) == 1
    assert "Traceback" not in plain.stderr
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert "ValueError: invalid literal for int()" in debug.stderr
    assert "direct cause of the following exception" in debug.stderr
    assert debug.stderr.rstrip().endswith("--set mode: 'BOGUS' is not an integer")

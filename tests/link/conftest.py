"""Fixtures of the attach tests: the uprobe target program and a leak check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the tests import tests.link._progs, also under bare `pytest`
    sys.path.insert(0, str(ROOT))

BUILD = ROOT / "build" / "link"
SRC = Path(__file__).resolve().parent / "uprobe_target.c"


def _build(name: str, *flags: str) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.fail("gcc is needed to build the uprobe target")
    BUILD.mkdir(parents=True, exist_ok=True)
    out = BUILD / name
    if not out.exists() or out.stat().st_mtime < SRC.stat().st_mtime:
        tmp = out.with_suffix(".tmp")
        subprocess.run([gcc, "-O1", "-g", *flags, "-o", str(tmp), str(SRC)], check=True)
        tmp.replace(out)
    return out


@pytest.fixture(scope="session")
def uprobe_target() -> Path:
    """The uprobe target built as a PIE executable (gcc's default)."""
    return _build("uprobe_target", "-fPIE", "-pie")


@pytest.fixture(scope="session")
def uprobe_target_nopie() -> Path:
    """The uprobe target built as a fixed-address executable."""
    return _build("uprobe_target_nopie", "-fno-pie", "-no-pie")


PREFIX = "lt_"  # name prefix of every program these tests load


def _snapshot() -> dict[str, object]:
    from pybpf.kernel import tracefs

    mine = f"pybpf/pybpf_{os.getpid()}_"
    return {
        "fds": sorted(os.listdir("/proc/self/fd"), key=int),
        "kprobe_events": [e for e in tracefs.probe_event_names("kprobe") if e.startswith(mine)],
        "uprobe_events": [e for e in tracefs.probe_event_names("uprobe") if e.startswith(mine)],
        "pins": sorted(p for p in os.listdir("/sys/fs/bpf") if p.startswith("pybpf_lt"))
        if os.path.isdir("/sys/fs/bpf")
        else [],
    }


@pytest.fixture()
def no_leaks(kernel: None) -> Iterator[Callable[[], dict[str, object]]]:
    """Assert that the test leaves no link, fd, tracefs probe entry or pin behind.

    Links and programs are those this process created (their ids), so other processes
    loading the same programs meanwhile do not count. Yields the snapshot function so
    tests can also compare mid-way.
    """
    import gc

    from leftovers import Leftovers

    gc.collect()
    before = _snapshot()
    with Leftovers() as lo:
        yield _snapshot
    gc.collect()
    after = _snapshot()
    for key, value in before.items():
        assert after[key] == value, f"{key} leaked: before {value}, after {after[key]}"
    lo.check()

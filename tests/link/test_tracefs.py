"""tracefs probe entries: unique per-process names, only our own removed, dead ones reclaimed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import ROOT

from pybpf.errors import KernelError
from pybpf.kernel import tracefs

pytestmark = pytest.mark.kernel


def _write(kind: str, line: str) -> None:
    fd = os.open(tracefs.root() / f"{kind}_events", os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _dead_pid() -> int:
    proc = subprocess.run(["/bin/true"], check=True)
    del proc
    child = subprocess.Popen(["/bin/true"])
    child.wait()
    return child.pid


def test_tracepoint_ids_and_listing(kernel: None) -> None:
    tp_id = tracefs.tracepoint_id("syscalls", "sys_enter_getpid")
    path = tracefs.root() / "events/syscalls/sys_enter_getpid/id"
    assert tp_id == int(path.read_text())
    names = tracefs.list_tracepoints("sched")
    assert "sched:sched_process_exec" in names
    with pytest.raises(KernelError, match="<category>/<name>"):
        tracefs.tracepoint_id("", "x")


def test_probe_entries_are_ours_only(no_leaks: object, uprobe_target: Path) -> None:
    offset = 0x1000
    foreign = "lt_foreign_probe"
    _write("uprobe", f"p:lt_other/{foreign} {uprobe_target}:{offset:#x}\n")
    try:
        ev = tracefs.add_probe_event("uprobe", "lt weird/name+1", f"{uprobe_target}:{offset:#x}")
        ev2 = tracefs.add_probe_event(
            "uprobe", "lt weird/name+1", f"{uprobe_target}:{offset:#x}", retprobe=True
        )
        assert ev.name != ev2.name
        assert ev.name.startswith(f"pybpf_{os.getpid()}_") and ev.name.endswith("lt_weird_name_1")
        assert ev2.definition.startswith("r:pybpf/")
        names = tracefs.probe_event_names("uprobe")
        assert f"pybpf/{ev.name}" in names and f"pybpf/{ev2.name}" in names
        assert ev.event_id > 0
        ev.remove()
        ev.remove()  # idempotent
        ev2.remove()
        names = tracefs.probe_event_names("uprobe")
        assert f"pybpf/{ev.name}" not in names
        assert f"lt_other/{foreign}" in names  # someone else's entry is untouched
        with pytest.raises(ValueError, match="not created by pybpf"):
            tracefs.remove_probe_event("uprobe", foreign)
    finally:
        _write("uprobe", f"-:lt_other/{foreign}\n")


def test_entries_of_dead_pybpf_processes_are_reclaimed(
    no_leaks: object, uprobe_target: Path
) -> None:
    dead = _dead_pid()
    stale = f"pybpf_{dead}_0_lt_stale"
    _write("uprobe", f"p:pybpf/{stale} {uprobe_target}:0x1000\n")
    assert f"pybpf/{stale}" in tracefs.probe_event_names("uprobe")
    ev = tracefs.add_probe_event("uprobe", "lt_fresh", f"{uprobe_target}:0x1000")
    ev.remove()
    assert f"pybpf/{stale}" not in tracefs.probe_event_names("uprobe")


def test_interpreter_exit_cleans_up_silently(kernel: None, uprobe_target: Path) -> None:
    """A process that never closes its links leaves no probe entry and prints nothing."""
    code = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from tests.link._progs import Counter
from pybpf.uapi.enums import ProgType
from pybpf.link.uprobe import attach_uprobe
from pybpf.link.tracepoint import attach_tracepoint
c = Counter(ProgType.KPROBE, name="lt_exit")
t = Counter(ProgType.TRACEPOINT, name="lt_exit_tp")
keep = [attach_uprobe(c.fd, {str(uprobe_target)!r}, "pybpf_target_add", use_pmu=False),
        attach_tracepoint(t.fd, "syscalls/sys_enter_getpid")]
print(os.getpid(), flush=True)
"""
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    assert proc.stderr == ""
    pid = int(proc.stdout.split()[0])
    assert not [e for e in tracefs.probe_event_names("uprobe") if f"pybpf_{pid}_" in e]

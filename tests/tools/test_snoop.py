"""pybpf-execsnoop and pybpf-opensnoop end to end: real execs and opens, real output."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from toolproc import tool_link_ids

pytestmark = pytest.mark.usefixtures("kernel")

TIME = r"\d\d:\d\d:\d\d"


def test_execsnoop_args_ppid_and_ret(run_tool) -> None:  # type: ignore[no-untyped-def]
    tool = run_tool("execsnoop", "-T", "-U", "-q")
    assert tool.wait_for(lambda s: s.startswith("TIME")) == (
        "TIME     UID    PCOMM            PID    PPID   RET ARGS"
    )
    links = tool_link_ids({"handle_enter", "handle_exit"})
    p = subprocess.Popen(["/bin/echo", "pybpf-marker", "two words"], stdout=subprocess.DEVNULL)
    p.wait()
    want = re.compile(
        rf"^{TIME} 0      echo             {p.pid:<6} {os.getpid():<6}   0 "
        r'"/bin/echo" "pybpf-marker" "two words"$'
    )
    tool.wait_for(want.match)
    # failed execs are hidden without -x
    with pytest.raises(FileNotFoundError):
        subprocess.run(["/nonexistent/pybpf-missing"])
    subprocess.run(["/bin/true", "pybpf-after"])
    tool.wait_for(lambda s: '"pybpf-after"' in s)
    assert not any("pybpf-missing" in s for s in tool.snapshot())
    assert tool.stop() == 0
    assert not links & tool_link_ids({"handle_enter", "handle_exit"})


def test_execsnoop_failed_and_filters(run_tool) -> None:  # type: ignore[no-untyped-def]
    tool = run_tool("execsnoop", "-x", "-t", "-l", "pybpf-")
    assert tool.wait_for(lambda s: s.startswith("TIME")) == (
        "TIME(s)  PCOMM            PID    PPID   RET ARGS"
    )
    with pytest.raises(FileNotFoundError):
        subprocess.run(["/nonexistent/pybpf-missing", "x"])
    line = tool.wait_for(lambda s: s.endswith(" /nonexistent/pybpf-missing x"))
    assert re.match(r"^\d+\.\d{3} +\S+ +\d+ +\d+ +-2 /nonexistent/pybpf-missing x$", line), line
    subprocess.run(["/bin/true", "other"])
    subprocess.run(["/bin/true", "pybpf-last"])
    tool.wait_for(lambda s: s.endswith(" /bin/true pybpf-last"))
    # -l keeps only commands with an argument containing the text
    assert all("pybpf-" in s for s in tool.snapshot()[1:])
    assert tool.stop() == 0


def test_execsnoop_cgroup_filter(run_tool) -> None:  # type: ignore[no-untyped-def]
    """-c CGROUP (libbpf-tools' flag): only execs of tasks inside that cgroup v2 directory."""
    root = Path("/sys/fs/cgroup/unified")
    if not (root / "cgroup.procs").exists():
        root = Path("/sys/fs/cgroup")
    cg = root / f"pybpf_execsnoop_{os.getpid()}"
    cg.mkdir()
    try:
        tool = run_tool("execsnoop", "-c", str(cg), "-l", "pybpf-cg")
        tool.wait_for(lambda s: s.startswith("PCOMM"))
        subprocess.run(["/bin/true", "pybpf-cg-outside"])
        inside = f"echo $$ > {cg}/cgroup.procs && exec /bin/true pybpf-cg-inside"
        subprocess.run(["/bin/sh", "-c", inside], check=True)
        tool.wait_for(lambda s: s.endswith(" /bin/true pybpf-cg-inside"))
        subprocess.run(["/bin/true", "pybpf-cg-outside-2"])
        time.sleep(0.5)
        lines = tool.snapshot()[1:]
        assert lines and not any("outside" in s for s in lines), lines
        assert tool.stop() == 0
    finally:
        cg.rmdir()
    bad = run_tool("execsnoop", "-c", str(cg))
    assert bad.proc.wait(60) == 1
    assert "cannot open the cgroup directory" in (bad.proc.stderr.read() if bad.proc.stderr else "")


def test_opensnoop_pid_failed_and_flags(run_tool, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "present.txt"
    target.write_text("x")
    missing = tmp_path / "absent.txt"
    tool = run_tool("opensnoop", "-p", str(os.getpid()), "-T", "-U", "-e")
    assert tool.wait_for(lambda s: s.startswith("TIME")) == (
        "TIME     UID     PID    COMM              FD ERR FLAGS    PATH"
    )
    links = tool_link_ids({"enter_openat", "exit_openat_tp"})
    fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
    os.close(fd)
    with pytest.raises(FileNotFoundError):
        os.open(missing, os.O_RDONLY)
    ok = tool.wait_for(lambda s: s.endswith(str(target)))
    # Python adds O_CLOEXEC to every open
    flags = f"{os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC:08o}"
    assert re.match(
        rf"^{TIME} 0       {os.getpid():<6} \S+ +{fd:>3}   0 {flags} {re.escape(str(target))}$", ok
    ), ok
    bad = tool.wait_for(lambda s: s.endswith(str(missing)))
    assert re.match(rf"^{TIME} 0       {os.getpid():<6} \S+ +-1   2 {os.O_CLOEXEC:08o} ", bad), bad
    # -p filters in BPF: a child's opens do not show
    subprocess.run(["cat", str(target)], stdout=subprocess.DEVNULL)
    for line in tool.snapshot()[1:]:
        assert line.split()[2] == str(os.getpid()), line
    assert tool.stop() == 0
    assert not links & tool_link_ids({"enter_openat", "exit_openat_tp"})


def test_opensnoop_failed_only_and_comm(run_tool, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "present.txt"
    target.write_text("x")
    tool = run_tool("opensnoop", "-x", "--comm", "cat")
    assert tool.wait_for(lambda s: s.startswith("PID")) == "PID    COMM              FD ERR PATH"
    subprocess.run(["cat", str(target)], stdout=subprocess.DEVNULL)
    proc = subprocess.run(["cat", str(tmp_path / "nope")], capture_output=True)
    assert proc.returncode == 1
    line = tool.wait_for(lambda s: s.endswith(str(tmp_path / "nope")))
    assert re.match(r"^\d+ +cat +-1   2 ", line), line
    for s in tool.snapshot()[1:]:
        assert " cat " in s and " -1 " in s, s
    assert not any(s.endswith(str(target)) for s in tool.snapshot())
    assert tool.stop() == 0

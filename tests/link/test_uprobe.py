"""uprobes/uretprobes on a target program built by the tests and on libc, counted in a map."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.link._progs import Counter

from pybpf.errors import AttachError, ObjectError
from pybpf.kernel import tracefs
from pybpf.link import FDLink, Link, PerfEventLink
from pybpf.link.uprobe import attach_uprobe, attach_uprobe_multi, resolve_uprobe
from pybpf.link.uprobe_resolve import find_symbols, resolve_binary, symbol_offset
from pybpf.link.usdt.attach import attach_usdt
from pybpf.uapi.enums import AttachType, LinkType, PerfEventLinkType, ProgType

pytestmark = pytest.mark.kernel

CALLS = 9  # pybpf_target_add runs CALLS times, pybpf_target_mul (CALLS + 1) // 2 times


def run_target(target: Path, attach: Callable[[int], list[Link]], calls: int = CALLS) -> None:
    """Start the target paused, attach (given its pid), let it run and wait for it."""
    proc = subprocess.Popen(
        [str(target), str(calls), "wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    links: list[Link] = []
    try:
        links = attach(proc.pid)
        out, _ = proc.communicate(b"x", timeout=30)
        assert proc.returncode == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for link in links:
            link.close()


@pytest.mark.parametrize("use_pmu", [True, False], ids=["pmu", "tracefs"])
def test_uprobe_and_uretprobe_count_calls(
    no_leaks: Callable[[], dict[str, object]], uprobe_target: Path, use_pmu: bool
) -> None:
    entry = Counter(ProgType.KPROBE, name="lt_up")
    ret = Counter(ProgType.KPROBE, name="lt_uret")
    seen: dict[str, object] = {}

    def attach(pid: int) -> list[Link]:
        a = attach_uprobe(
            entry.fd, str(uprobe_target), "pybpf_target_add", pid=pid, use_pmu=use_pmu
        )
        b = attach_uprobe(
            ret.fd,
            str(uprobe_target),
            "pybpf_target_mul",
            pid=pid,
            retprobe=True,
            use_pmu=use_pmu,
        )
        seen.update(no_leaks())
        return [a, b]

    try:
        run_target(uprobe_target, attach)
        assert entry.value() == CALLS
        assert ret.value() == (CALLS + 1) // 2
        mine = [e for e in seen["uprobe_events"]]  # type: ignore[union-attr]
        # the tracefs path made exactly two entries of ours (and close removed them)
        assert len(mine) == (0 if use_pmu else 2)
    finally:
        entry.close()
        ret.close()


def test_uprobe_other_pid_not_counted(no_leaks: object, uprobe_target: Path) -> None:
    c = Counter(ProgType.KPROBE, name="lt_upother")
    try:
        # attached to our own pid: the child's calls must not count
        link = attach_uprobe(c.fd, str(uprobe_target), "pybpf_target_add", pid=os.getpid())
        subprocess.run([str(uprobe_target), str(CALLS)], check=True, capture_output=True)
        link.close()
        assert c.value() == 0
    finally:
        c.close()


def test_uprobe_system_wide_on_nopie_binary(no_leaks: object, uprobe_target_nopie: Path) -> None:
    syms = find_symbols(str(uprobe_target_nopie), "pybpf_target_add")
    assert syms and syms[0].vaddr != syms[0].offset  # fixed address: needs conversion
    c = Counter(ProgType.KPROBE, name="lt_upnopie")
    try:
        with attach_uprobe(c.fd, str(uprobe_target_nopie), "pybpf_target_add"):
            subprocess.run([str(uprobe_target_nopie), str(CALLS)], check=True, capture_output=True)
        assert c.value() == CALLS
    finally:
        c.close()


def test_uprobe_section_style_target_and_link_info(no_leaks: object, uprobe_target: Path) -> None:
    c = Counter(ProgType.KPROBE, name="lt_upsec")
    spec = f"{uprobe_target}:pybpf_target_mul+0"
    try:

        def attach(pid: int) -> list[Link]:
            link = attach_uprobe(c.fd, spec, pid=pid, cookie=77, use_link=True)
            assert isinstance(link, PerfEventLink)
            info = link.info()
            assert info.type == LinkType.PERF_EVENT
            assert info.details["perf_event_type"] == PerfEventLinkType.UPROBE
            assert info.details["file_name"] == str(uprobe_target.resolve())
            assert info.details["offset"] == symbol_offset(str(uprobe_target), "pybpf_target_mul")
            assert info.details["cookie"] == 77
            return [link]

        run_target(uprobe_target, attach)
        assert c.value() == (CALLS + 1) // 2
    finally:
        c.close()


def test_uprobe_on_libc_getpid_filtered_to_child(no_leaks: object, uprobe_target: Path) -> None:
    libc = resolve_binary("libc")
    assert "libc.so" in libc and os.path.isabs(libc)
    assert resolve_binary("libc.so.6") == libc
    c = Counter(ProgType.KPROBE, name="lt_uplibc")
    child: list[int] = []
    try:

        def attach(pid: int) -> list[Link]:
            child.append(pid)
            return [attach_uprobe(c.fd, "libc", "getpid", pid=pid)]

        run_target(uprobe_target, attach)
        # the target calls getpid() CALLS times after attach; libc may add a call or two
        assert CALLS <= c.value() <= CALLS + 2
    finally:
        c.close()


def test_uprobe_multi_pattern(no_leaks: object, uprobe_target: Path) -> None:
    plain = Counter(ProgType.KPROBE, name="lt_upmulti0")
    c = Counter(
        ProgType.KPROBE, name="lt_upmulti", expected_attach_type=AttachType.TRACE_UPROBE_MULTI
    )
    try:
        with pytest.raises(AttachError, match=r"uprobe\.multi"):
            attach_uprobe_multi(plain.fd, str(uprobe_target), "pybpf_target_*")

        def attach(pid: int) -> list[Link]:
            link = attach_uprobe_multi(c.fd, str(uprobe_target), "pybpf_target_*", pid=pid)
            assert isinstance(link, FDLink)
            assert link.info().type == LinkType.UPROBE_MULTI
            assert link.info().details["count"] == 2
            return [link]

        run_target(uprobe_target, attach)
        assert c.value() == CALLS + (CALLS + 1) // 2
    finally:
        c.close()
        plain.close()


def test_uprobe_errors_name_what_is_wrong(no_leaks: object, uprobe_target: Path) -> None:
    c = Counter(ProgType.KPROBE, name="lt_uperr")
    try:
        with pytest.raises(AttachError, match=r"no_such_function.*uprobe_target"):
            attach_uprobe(c.fd, str(uprobe_target), "no_such_function")
        with pytest.raises(AttachError, match="no such file"):
            attach_uprobe(c.fd, "/nonexistent/binary", "main")
        with pytest.raises(AttachError, match="not a path, a library"):
            attach_uprobe(c.fd, "libdefinitely_not_here", "main")
        with pytest.raises(AttachError, match="<binary>:<function>"):
            resolve_uprobe(f"{uprobe_target}:")
        with pytest.raises(ObjectError, match=r"usdt\.bpf\.h"):  # a program without its maps
            attach_usdt(c.fd, str(uprobe_target), "prov", "probe")
        assert not [e for e in tracefs.probe_event_names("uprobe") if f"pybpf_{os.getpid()}_" in e]
    finally:
        c.close()

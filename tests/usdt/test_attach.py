"""USDT attach on the real kernel: every argument kind read back through usdt.bpf.h.

The target (tests/usdt/usdt_target.c) fires its probes with values derived from a
seed; usdt_args.bpf.c records what bpf_usdt_arg() reads into a ring buffer, and
the tests compare with the values computed here from the same seed.
"""

from __future__ import annotations

import errno
import gc
import os
import struct
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.usdt.conftest import UsdtBuild

import pybpf
from pybpf.errors import AttachError, BPFError, NotSupportedError, ObjectError
from pybpf.link.base import Link
from pybpf.link.usdt.attach import UsdtLink, attach_usdt
from pybpf.sys import info, objects

pytestmark = pytest.mark.kernel

KIND_ANY, KIND_REGS = 1, 2
_EVENT = struct.Struct("<IIiIQ12qiI")


def _s(bits: int, v: int) -> int:
    """``v`` as a signed ``bits``-bit integer (C's wrap-around)."""
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _u(bits: int, v: int) -> int:
    return v & ((1 << bits) - 1)


def expected(seed: int) -> dict[str, list[tuple[int, ...]]]:
    """What usdt_target.c passes to each probe for ``seed`` (as s64, like the BPF side stores)."""
    s64 = lambda v: _s(64, v)  # noqa: E731
    return {
        "consts": [(42, -7, -1234567890123, 200)],
        "regs": [
            (
                _s(8, -seed),
                _u(8, 0xF0 + seed),
                _s(16, -300 * seed),
                _u(16, 0xFF00 + seed),
                _s(32, -70000 * seed),
                _u(32, 0xFFFFF000 + seed),
                s64(-seed * 10000000000),
                s64(0xF000000000000000 + seed),
            )
        ],
        "mem": [
            (_s(32, -seed * 1000), _u(16, 60000 + seed), s64(-seed * 100000000000), _s(8, -seed))
        ],
        "glob": [(_s(32, -seed * 77), s64(0xFEDCBA9876543210 + seed))],
        "sema": [(1, seed)],  # the semaphore's value while one uprobe is attached
        "twice": [(1, seed), (2, seed + 1)],
        "libprobe": [(seed * 5 + 1, _s(32, -seed * 9))],
    }


@dataclass
class Event:
    kind: int
    pid: int
    cnt: int
    errs: int
    cookie: int
    args: tuple[int, ...]
    beyond: int


def run_target(
    build: UsdtBuild, seed: int, attach: Callable[[int], list[Link]]
) -> tuple[int, list[Link]]:
    """Start the target paused, attach (given its pid), let it fire its probes, wait."""
    proc = subprocess.Popen(
        [str(build.exe), str(seed), "wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
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
    return proc.pid, links


def events(obj: pybpf.Object, pid: int | None = None) -> list[Event]:
    with obj.ringbuf("usdt_events") as rb:
        out = []
        for rec in rb.drain():
            kind, epid, cnt, errs, cookie, *rest = _EVENT.unpack_from(bytes(rec))
            if pid is None or epid == pid:
                out.append(
                    Event(kind, epid, cnt, errs, cookie, tuple(rest[: max(cnt, 0)]), rest[12])
                )
        return out


def kernel_links_of(obj: pybpf.Object) -> list[int]:
    """Ids of the kernel links whose program belongs to ``obj``."""
    progs = {p.id for p in obj.programs.values() if p.loaded}
    out = []
    for link_id in objects.ids("link"):
        try:
            with objects.get_fd_by_id("link", link_id) as fd:
                if info.link_info(fd).prog_id in progs:
                    out.append(link_id)
        except BPFError:
            continue
    return out


def assert_clean(obj: pybpf.Object) -> None:
    """No link of ``obj``'s programs, no tracefs probe of ours, no ip map entry, zero specs."""
    from pybpf.kernel import tracefs

    assert kernel_links_of(obj) == []
    mine = f"pybpf_{os.getpid()}_"
    assert not [e for e in tracefs.probe_event_names("uprobe") if mine in e]
    assert len(obj.maps["__bpf_usdt_ip_to_spec_id"]) == 0
    zero = bytes(obj.maps["__bpf_usdt_specs"].value_size)
    specs = obj.maps["__bpf_usdt_specs"]
    assert all(specs.lookup(i, raw=True) == zero for i in range(specs.max_entries))


@pytest.fixture()
def usdt_obj(kernel: None, bpf_obj: Callable[[str], Path]) -> Iterator[pybpf.Object]:
    gc.collect()
    fds = len(os.listdir("/proc/self/fd"))
    obj = pybpf.load(bpf_obj("usdt_args"))
    try:
        yield obj
        assert_clean(obj)
    finally:
        obj.close()
        gc.collect()
    assert len(os.listdir("/proc/self/fd")) == fds, "an fd leaked"


EXE_PROBES = ("consts", "regs", "mem", "glob", "sema", "twice")


def attach_all(obj: pybpf.Object, build: UsdtBuild, pid: int, **kw: Any) -> list[Link]:
    prog = obj.programs["usdt_any"]
    links = [
        prog.attach(str(build.exe), "pybpf", name, pid=pid, cookie=0xC0DE0000 + i, **kw)
        for i, name in enumerate(EXE_PROBES)
    ]
    links.append(prog.attach(str(build.lib), "pybpf_lib", "libprobe", pid=pid, cookie=7, **kw))
    return links


def check_events(evs: list[Event], seed: int) -> None:
    want = expected(seed)
    cookies = {0xC0DE0000 + i: name for i, name in enumerate(EXE_PROBES)} | {7: "libprobe"}
    seen: dict[str, list[tuple[int, ...]]] = {}
    for e in evs:
        assert e.kind == KIND_ANY
        assert e.errs == 0, f"bpf_usdt_arg failed for {cookies[e.cookie]}: {e.errs:#x}"
        assert e.beyond == -errno.ENOENT
        seen.setdefault(cookies[e.cookie], []).append(e.args)
    assert seen == want


@pytest.mark.parametrize("variant", ["pie", "nopie"])
@pytest.mark.parametrize("use_pmu", [True, False], ids=["pmu", "tracefs"])
def test_every_argument_kind(
    usdt_obj: pybpf.Object, variant: str, use_pmu: bool, request: pytest.FixtureRequest
) -> None:
    build: UsdtBuild = request.getfixturevalue(f"usdt_{variant}")
    seed = 3 if use_pmu else 11
    pid, links = run_target(
        build, seed, lambda pid: attach_all(usdt_obj, build, pid, use_pmu=use_pmu)
    )
    try:
        assert all(isinstance(link, UsdtLink) for link in links)
        assert len(links[EXE_PROBES.index("twice")]) == 2  # two sites, two uprobes
        assert len(links[EXE_PROBES.index("twice")].spec_ids) == 2  # different specs
        assert len(kernel_links_of(usdt_obj)) == (8 if use_pmu or _perf_links() else 0)
        check_events(events(usdt_obj, pid), seed)
    finally:
        for link in links:
            link.close()


def _perf_links() -> bool:
    from pybpf.sys import features

    return features.has_link_create_perf_event()


def test_semaphore_counts_attachments(usdt_obj: pybpf.Object, usdt_pie: UsdtBuild) -> None:
    prog = usdt_obj.programs["usdt_any"]
    # not attached to pybpf:sema: its semaphore stays 0 and the probe does not fire
    pid, links = run_target(
        usdt_pie, 5, lambda pid: [prog.attach(str(usdt_pie.exe), "pybpf", "twice", pid=pid)]
    )
    for link in links:
        link.close()
    assert [e.args[0] for e in events(usdt_obj, pid)] == [1, 2]
    # two attachments to pybpf:sema: both fire; the kernel sets the semaphore once per
    # process and site (its ref_ctr counts installed breakpoints, not consumers)
    pid, links = run_target(
        usdt_pie,
        5,
        lambda pid: [
            prog.attach(str(usdt_pie.exe), "pybpf", "sema", pid=pid, cookie=c) for c in (1, 2)
        ],
    )
    for link in links:
        link.close()
    evs = events(usdt_obj, pid)
    assert sorted((e.cookie, e.args) for e in evs) == [(1, (1, 5)), (2, (1, 5))]


def test_auto_attach_from_section(
    usdt_obj: pybpf.Object, usdt_pie: UsdtBuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SEC("usdt/pybpf_usdt_target:pybpf:regs") finds the binary on $PATH; BPF_USDT args
    monkeypatch.setenv("PATH", f"{usdt_pie.dir}:{os.environ.get('PATH', '')}")
    pid, links = run_target(usdt_pie, 9, lambda pid: usdt_obj.attach())
    try:
        assert [link.program for link in links] == ["usdt_regs"]
        assert "usdt_any" in usdt_obj.attach_skipped
        (e,) = events(usdt_obj, pid)
        assert (e.kind, e.cnt, e.cookie) == (KIND_REGS, 8, 0)
        assert [e.args] == expected(9)["regs"]
    finally:
        usdt_obj.detach()


def test_shared_library_in_every_process(usdt_obj: pybpf.Object, usdt_pie: UsdtBuild) -> None:
    prog = usdt_obj.programs["usdt_any"]
    with prog.attach(str(usdt_pie.lib), "pybpf_lib", "libprobe", cookie=7) as link:
        assert link.ips == ()  # BPF cookies: no ip map entries
        pid, _ = run_target(usdt_pie, 4, lambda pid: [])
        pid2, _ = run_target(usdt_pie, 6, lambda pid: [])
        evs = events(usdt_obj)
    assert [e.args for e in evs if e.pid == pid] == expected(4)["libprobe"]
    assert [e.args for e in evs if e.pid == pid2] == expected(6)["libprobe"]


@pytest.fixture()
def no_cookie_obj(
    kernel: None, bpf_obj: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[pybpf.Object]:
    """The object loaded as on a kernel without BPF cookies (LINUX_HAS_BPF_COOKIE false)."""
    from pybpf.sys import features

    monkeypatch.setattr(features, "has_bpf_cookie", lambda: False)
    obj = pybpf.load(bpf_obj("usdt_args"))
    try:
        yield obj
        assert_clean(obj)
    finally:
        obj.close()


@pytest.mark.parametrize("variant", ["pie", "nopie"])
def test_without_bpf_cookies_the_ip_map_finds_the_spec(
    no_cookie_obj: pybpf.Object, variant: str, request: pytest.FixtureRequest
) -> None:
    build: UsdtBuild = request.getfixturevalue(f"usdt_{variant}")
    ipmap = no_cookie_obj.maps["__bpf_usdt_ip_to_spec_id"]
    sites: list[int] = []

    def attach(pid: int) -> list[Link]:
        links = attach_all(no_cookie_obj, build, pid)
        for link in links:
            assert isinstance(link, UsdtLink)
            sites.extend(link.ips)
        assert sorted(ipmap.keys()) == sorted(sites)
        return links

    pid, links = run_target(build, 8, attach)
    try:
        assert len(sites) == 8 and len(set(sites)) == 8
        check_events(events(no_cookie_obj, pid), 8)
    finally:
        for link in links:
            link.close()
    assert len(ipmap) == 0


def test_without_bpf_cookies_pie_needs_a_pid(
    no_cookie_obj: pybpf.Object, usdt_pie: UsdtBuild, usdt_nopie: UsdtBuild
) -> None:
    prog = no_cookie_obj.programs["usdt_any"]
    with pytest.raises(NotSupportedError, match="pass pid="):
        prog.attach(str(usdt_pie.exe), "pybpf", "consts")
    # a fixed-address executable has its addresses in the ELF: no pid needed
    with prog.attach(str(usdt_nopie.exe), "pybpf", "consts") as link:
        assert isinstance(link, UsdtLink)
        assert link.ips == tuple(p.address for p in link.probes)


def test_errors_leave_nothing_behind(usdt_obj: pybpf.Object, usdt_pie: UsdtBuild) -> None:
    prog = usdt_obj.programs["usdt_any"]
    with pytest.raises(AttachError, match="no USDT probe pybpf:nope") as exc:
        prog.attach(str(usdt_pie.exe), "pybpf", "nope")
    assert exc.value.errno == errno.ENOENT and "pybpf:consts" in str(exc.value)
    with pytest.raises(AttachError, match="no such file"):
        prog.attach("/nonexistent/bin", "pybpf", "consts")
    with pytest.raises(ObjectError, match=r"usdt\.bpf\.h"):
        attach_usdt(prog.fd, str(usdt_pie.exe), "pybpf", "consts", prog_name=prog.name)
    with pytest.raises(BPFError, match=r"attach\(binary, provider, name"):
        prog.attach()
    if not _sib_supported(usdt_obj):
        with pytest.raises(ObjectError, match="BPF_USDT_ARG_SIB") as oexc:
            prog.attach(str(usdt_pie.exe), "pybpf", "sib")
        assert oexc.value.file == str(usdt_pie.exe)


def _sib_supported(obj: pybpf.Object) -> bool:
    from pybpf.link.usdt.notes import SpecLayout

    m = obj.maps["__bpf_usdt_specs"]
    assert m.btf is not None
    return SpecLayout.from_btf(m.btf, m.value_type_id).supports_sib


def test_partial_failure_is_undone(no_cookie_obj: pybpf.Object, usdt_nopie: UsdtBuild) -> None:
    from pybpf.link.usdt.notes import find_probes

    prog = no_cookie_obj.programs["usdt_any"]
    ipmap = no_cookie_obj.maps["__bpf_usdt_ip_to_spec_id"]
    _, second = find_probes(str(usdt_nopie.exe), "pybpf", "twice")
    ipmap[second.address] = 99  # someone else's entry at the second site
    with pytest.raises(AttachError, match="already attached") as exc:
        prog.attach(str(usdt_nopie.exe), "pybpf", "twice")
    assert exc.value.errno == errno.EEXIST
    assert kernel_links_of(no_cookie_obj) == []
    assert list(ipmap.keys()) == [second.address]  # ours removed, theirs kept
    del ipmap[second.address]


def test_spec_ids_are_reused(
    kernel: None, bpf_obj: Callable[[str], Path], usdt_pie: UsdtBuild
) -> None:
    obj = pybpf.open(bpf_obj("usdt_args"))
    obj.maps["__bpf_usdt_specs"].max_entries = 3
    obj.load()
    try:
        prog = obj.programs["usdt_any"]
        exe = str(usdt_pie.exe)
        a = prog.attach(exe, "pybpf", "twice")  # ids 0, 1
        b = prog.attach(exe, "pybpf", "consts")  # id 2
        assert sorted(a.spec_ids + b.spec_ids) == [0, 1, 2]
        with pytest.raises(AttachError, match="spec ids") as exc:
            prog.attach(exe, "pybpf", "mem")
        assert exc.value.errno == errno.E2BIG
        a.close()
        c = prog.attach(exe, "pybpf", "mem")
        assert c.spec_ids[0] in (0, 1)
        pid, _ = run_target(usdt_pie, 2, lambda pid: [])
        assert sorted(e.args for e in events(obj, pid)) == sorted(
            expected(2)["consts"] + expected(2)["mem"]
        )
        b.close()
        c.close()
        assert_clean(obj)
    finally:
        obj.close()


@pytest.mark.parametrize(
    ("probe", "value"),
    [("sib", lambda seed: -((seed % 16) + 1) * seed), ("mem", lambda seed: -seed * 1000)],
)
def test_sib_arguments_with_a_newer_usdt_header(
    kernel: None,
    bpf_obj: Callable[[str], Path],
    usdt_pie: UsdtBuild,
    probe: str,
    value: Callable[[int], int],
) -> None:
    # usdt_sib.bpf.c carries libbpf >= 1.7's spec struct (SIB, 24-byte arg specs)
    obj = pybpf.load(bpf_obj("usdt_sib"))
    try:
        prog = obj.programs["usdt_sib"]
        _, links = run_target(
            usdt_pie, 5, lambda pid: [prog.attach(str(usdt_pie.exe), "pybpf", probe, pid=pid)]
        )
        for link in links:
            link.close()
        res = obj.maps["sib_results"][0]
        assert (res.hits, res.err, res.value) == (1, 0, value(5))
        assert res.arg_type == (3 if probe == "sib" else 2)
        assert kernel_links_of(obj) == []
        assert len(obj.maps["__bpf_usdt_ip_to_spec_id"]) == 0
    finally:
        obj.close()

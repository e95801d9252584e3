"""The bad-input matrix of the runtime entry points: for each class of bad input to load,
attach, map operations, pins and ring/perf buffers, the typed error and the message
naming what and where -- and nothing left behind (fds, kernel objects, tracefs entries,
mounts, pins), counted by what this process made so that other BPF users do not matter.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import pybpf
from leftovers import Leftovers
from pybpf.errors import (
    AttachError,
    BPFError,
    BTFError,
    CoreRelocationError,
    EventError,
    KernelError,
    MapError,
    NotSupportedError,
    ObjectError,
    UsageError,
    VerifierError,
)
from pybpf.events import PerfBuffer, RingBuffer
from pybpf.sys import fs
from pybpf.uapi.enums import ProgType

pytestmark = pytest.mark.usefixtures("kernel")


@dataclass
class Env:
    obj: Callable[[str], Path]
    bpffs: Path
    tmp: Path


@pytest.fixture()
def env(bpf_obj: Any, tmp_path: Path, tmp_bpffs: Path) -> Env:
    return Env(bpf_obj, tmp_bpffs, tmp_path)


def _loaded(e: Env, name: str, only: str | None = None) -> pybpf.Object:
    obj = pybpf.open(e.obj(name), pin_root=e.bpffs)
    if only is not None:
        for n, p in obj.programs.items():
            p.autoload = n == only
    obj.load()
    return obj


# -- load --------------------------------------------------------------------------


def load_missing(e: Env) -> None:
    pybpf.load(e.tmp / "nope.bpf.o")


def load_not_elf(e: Env) -> None:
    pybpf.load(b"\x7fELF" + b"\x02\x01\x01" + b"garbage" * 20)


def load_truncated(e: Env) -> None:
    data = e.obj("maps").read_bytes()
    pybpf.load(data[: len(data) // 2])


def load_verifier(e: Env) -> None:
    pybpf.load(e.obj("verifier_fail"))


def load_core(e: Env) -> None:
    pybpf.load(e.obj("core_fail"))


def load_map_too_large(e: Env) -> None:
    obj = pybpf.open(e.obj("cli_run"))
    with obj:
        obj.maps["sizes"].max_entries = 1 << 31
        obj.load()


def load_wrong_program_type(e: Env) -> None:
    obj = pybpf.open(e.obj("maps"), pin_root=e.bpffs)
    with obj:
        obj.programs["read_inner"].prog_type = ProgType.XDP
        obj.load()


# -- attach ------------------------------------------------------------------------


def attach_no_tracepoint(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        obj.programs["on_getpgid"].attach_tracepoint("no_such_category", "nope")


def attach_uprobe_no_binary(e: Env) -> None:
    with _loaded(e, "attach_tracing", "lt_uprobe_add") as obj:
        obj.programs["lt_uprobe_add"].attach_uprobe(str(e.tmp / "no-binary"), "main")


def attach_uprobe_no_symbol(e: Env) -> None:
    with _loaded(e, "attach_tracing", "lt_uprobe_add") as obj:
        obj.programs["lt_uprobe_add"].attach_uprobe("/bin/true", "no_such_function_here")


def attach_kprobe_absent(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        obj.programs["on_getpgid"].attach_kprobe("do_sys_openat2")


def attach_no_target(e: Env) -> None:
    with _loaded(e, "net_tc", "nt_tc_count") as obj:
        obj.programs["nt_tc_count"].attach()


def attach_no_interface(e: Env) -> None:
    with _loaded(e, "net_tc", "nt_tc_count") as obj:
        obj.programs["nt_tc_count"].attach("nosuchdev0", direction="ingress")


def attach_not_loaded(e: Env) -> None:
    with pybpf.open(e.obj("cli_run")) as obj:
        obj.programs["on_getpgid"].attach()


# -- map operations ------------------------------------------------------------------


def map_key_bytes_size(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        obj.maps["sizes"][b"\x01"] = 1


def map_value_out_of_range(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        obj.maps["sizes"][1] = 1 << 70


def map_key_unknown_field(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        obj.maps["by_key"][{"pdi": 1, "comm": b"sh"}] = 1


def map_full(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        for i in range(65):
            obj.maps["sizes"][i] = i


def map_closed(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        m = obj.maps["sizes"]
    m[1] = 1


# -- pins --------------------------------------------------------------------------


def pin_off_bpffs(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        obj.maps["sizes"].pin(e.tmp / "plain" / "sizes")


def pin_through_symlink(e: Env) -> None:
    (e.bpffs / "real").mkdir(exist_ok=True)
    link = e.bpffs / "link"
    if not link.is_symlink():
        link.symlink_to(e.bpffs / "real")
    try:
        with _loaded(e, "cli_run") as obj:
            obj.maps["sizes"].pin(link / "sizes")
    finally:
        link.unlink()
        (e.bpffs / "real").rmdir()


def pin_exists(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        obj.maps["sizes"].pin(e.bpffs / "sizes")
        try:
            obj.maps["by_key"].pin(e.bpffs / "sizes")
        finally:
            os.unlink(e.bpffs / "sizes")


def pin_root_off_bpffs(e: Env) -> None:
    obj = pybpf.open(e.obj("maps"), pin_root=e.tmp / "not-bpffs")
    with obj:
        for p in obj.programs.values():
            p.autoload = False
        obj.load()


def pin_mount_non_empty(e: Env) -> None:
    busy = e.tmp / "busy"
    busy.mkdir(exist_ok=True)
    (busy / "keep").write_text("x")
    obj = pybpf.open(e.obj("maps"), pin_root=busy, mount_bpffs=True)
    with obj:
        for p in obj.programs.values():
            p.autoload = False
        obj.load()


# -- ring and perf buffers -------------------------------------------------------------


def ring_on_hash(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        RingBuffer(obj.maps["sizes"])


def ring_closed_fd(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        fd = os.dup(obj.maps["events"].fd)
    os.close(fd)
    RingBuffer(fd)


def ring_poll_closed(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        rb = obj.ringbuf("events", print)
        rb.close()
        rb.poll(0)


def ring_no_callback(e: Env) -> None:
    with _loaded(e, "cli_run") as obj, obj.ringbuf("events") as rb:
        rb.poll(0)


def perf_page_cnt(e: Env) -> None:
    with _loaded(e, "events_perf") as obj:
        PerfBuffer(obj.maps["events"], page_cnt=3)


def perf_on_ring(e: Env) -> None:
    with _loaded(e, "cli_run") as obj:
        PerfBuffer(obj.maps["events"])


def perf_poll_closed(e: Env) -> None:
    with _loaded(e, "events_perf") as obj:
        pb = obj.perfbuf("events", print)
        pb.close()
        pb.poll(0)


MATRIX: list[tuple[str, Callable[[Env], None], type[BPFError], str]] = [
    ("load: missing file", load_missing, ObjectError, r"nope\.bpf\.o: cannot read object"),
    ("load: not an ELF", load_not_elf, ObjectError, r"offset 0x10: not a relocatable object"),
    ("load: truncated object", load_truncated, ObjectError, r"offset|section|truncated|past"),
    ("load: verifier rejects", load_verifier, VerifierError, r"verifier_fail\.bpf\.c:\d+"),
    ("load: CO-RE field absent", load_core, CoreRelocationError, r"no_such_field_in_any_kernel"),
    ("load: map too large", load_map_too_large, MapError, r"create map 'sizes'.*max_entries"),
    ("load: wrong program type", load_wrong_program_type, VerifierError, r"read_inner"),
    ("attach: no tracepoint", attach_no_tracepoint, AttachError, r"no tracepoint category"),
    ("attach: uprobe binary", attach_uprobe_no_binary, AttachError, r"no-binary"),
    ("attach: uprobe symbol", attach_uprobe_no_symbol, AttachError, r"no_such_function_here"),
    ("attach: kprobes absent", attach_kprobe_absent, NotSupportedError, r"CONFIG_KPROBES"),
    ("attach: target missing", attach_no_target, UsageError, r"attach\(\) needs an interface"),
    ("attach: no such interface", attach_no_interface, KernelError, r"nosuchdev0"),
    ("attach: not loaded", attach_not_loaded, BPFError, r"not loaded: call obj\.load\(\)"),
    ("map: key of wrong size", map_key_bytes_size, UsageError, r"1 bytes cannot be a __u32"),
    ("map: value out of range", map_value_out_of_range, BTFError, r"out of range"),
    ("map: unknown key field", map_key_unknown_field, UsageError, r"unknown field pdi"),
    ("map: full", map_full, MapError, r"the map is full"),
    ("map: closed", map_closed, KernelError, r"already closed"),
    ("pin: off bpffs", pin_off_bpffs, UsageError, r"is not on a bpffs"),
    ("pin: through symlink", pin_through_symlink, UsageError, r"is a symlink"),
    ("pin: already pinned", pin_exists, KernelError, r"File exists"),
    ("pin: pin_root off bpffs", pin_root_off_bpffs, UsageError, r"mount_bpffs=True"),
    ("pin: mount over files", pin_mount_non_empty, UsageError, r"not empty"),
    ("ring: not a ring map", ring_on_hash, MapError, r"is a HASH map, not RINGBUF"),
    ("ring: closed fd", ring_closed_fd, MapError, r"is not open"),
    ("ring: poll after close", ring_poll_closed, KernelError, r"it was closed.*new reader"),
    ("ring: no callback", ring_no_callback, UsageError, r"needs a callback"),
    ("perf: page_cnt", perf_page_cnt, EventError, r"power of two"),
    ("perf: not a perf map", perf_on_ring, MapError, r"not PERF_EVENT_ARRAY"),
    ("perf: poll after close", perf_poll_closed, KernelError, r"it was closed"),
]


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [pytest.param(fn, err, msg, id=name) for name, fn, err, msg in MATRIX],
)
def test_bad_input(env: Env, case: Callable[[Env], None], error: type, message: str) -> None:
    with Leftovers(pins=[env.bpffs]) as lo:
        with pytest.raises(error, match=message) as info:
            case(env)
        assert isinstance(info.value, BPFError)
    lo.check()


def test_leftovers_sees_what_is_left(env: Env) -> None:
    """The check above can fail: an object kept open, a pin and a mount are all seen."""
    with Leftovers(pins=[env.bpffs]) as lo:
        obj = _loaded(env, "cli_run")
    with pytest.raises(AssertionError, match="fds left behind"):
        lo.check(timeout=0.5)
    ids = lo.alive()
    assert ids["map"] and ids["prog"]  # the kernel objects it made are still there
    obj.maps["sizes"].pin(env.bpffs / "kept")
    obj.close()
    with pytest.raises(AssertionError, match="pins left behind"):
        lo.check(timeout=0.5)
    os.unlink(env.bpffs / "kept")
    lo.check()
    sub = env.tmp / "mnt"
    sub.mkdir()
    with Leftovers(pins=[env.bpffs]) as lo:
        fs.mount("bpf", sub, "mode=0700")
    with pytest.raises(AssertionError, match="mounts left behind"):
        lo.check(timeout=0.5)

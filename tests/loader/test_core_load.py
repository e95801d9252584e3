"""CO-RE and kconfig end to end: a program reads kernel structures through
relocations resolved by pybpf, and the values match /proc, /proc/config.gz and
bpftool's view of the kernel BTF; the relocated code equals libbpf's."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

import pybpf
from pybpf.errors import CoreRelocationError

pytestmark = pytest.mark.usefixtures("kernel")

PINS = Path("/sys/fs/bpf/pybpf_test_core_libbpf")


def _bpftool_btf() -> str:
    return subprocess.run(
        ["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture(scope="module")
def kernel_btf_text() -> str:
    return _bpftool_btf()


def _enum_value(text: str, enum: str, name: str) -> int:
    block = re.search(rf"^\[\d+\] ENUM(?:64)? '{enum}'.*?\n((?:\t.*\n)+)", text, re.M)
    assert block, enum
    m = re.search(rf"'{name}' val=(-?\d+)", block.group(1))
    assert m, name
    return int(m.group(1))


def _struct(text: str, name: str) -> tuple[int, int]:
    m = re.search(rf"^\[(\d+)\] STRUCT '{name}' size=(\d+)", text, re.M)
    assert m, name
    return int(m.group(1)), int(m.group(2))


def _config() -> dict[str, str]:
    out = {}
    with gzip.open("/proc/config.gz", "rt") as f:
        for line in f:
            if line.startswith("CONFIG_") and "=" in line:
                k, v = line.strip().split("=", 1)
                out[k] = v
    return out


def _version_code() -> int:
    a, b, c = (int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", os.uname().release).groups())  # type: ignore[union-attr]
    return (a << 16) + (b << 8) + min(c, 255)


def test_core_values_match_proc_and_config(bpf_obj, kernel_btf_text: str) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("core"))
    obj.globals["target_tgid"] = os.getpid()
    old = os.sched_getscheduler(0)
    param = os.sched_getparam(0)
    os.sched_setscheduler(0, os.SCHED_OTHER | os.SCHED_RESET_ON_FORK, os.sched_param(0))
    try:
        with obj.load():
            obj.attach()
            os.getpid()
            out = obj.globals["out"]
    finally:
        os.sched_setscheduler(0, old, param)

    assert out.hits >= 1
    assert out.tgid == os.getpid()
    assert out.pid == threading.get_native_id()
    assert out.ppid == os.getppid()
    assert out.comm == Path("/proc/self/comm").read_bytes().strip()[:15]
    assert out.reset_on_fork == 1  # the bitfield, set through sched_setscheduler above

    assert out.enum_sid == _enum_value(kernel_btf_text, "pid_type", "PIDTYPE_SID") != 77
    assert out.enum_tgid == _enum_value(kernel_btf_text, "pid_type", "PIDTYPE_TGID") != 78
    user = _enum_value(kernel_btf_text, "perf_callchain_context", "PERF_CONTEXT_USER")
    assert out.enum64_user == user % (1 << 64)
    assert out.enum_missing_exists == 0

    assert out.future_field_exists == 0  # guarded field the kernel lacks: "absent"
    assert out.future_field_value == 0
    assert (out.pid_exists, out.pid_size, out.pid_signed, out.comm_size) == (1, 4, 1, 16)
    task_id, task_size = _struct(kernel_btf_text, "task_struct")
    assert (out.task_exists, out.task_size, out.task_kernel_id) == (1, task_size, task_id)
    assert out.missing_type_exists == 0
    assert out.flavor_type_exists == 1  # libbpf semantics: matched by essential name
    assert out.pid_type_matches == 1

    cfg = _config()
    assert out.kver == _version_code()
    assert out.hz == int(cfg["CONFIG_HZ"])
    assert out.nr_cpus == int(cfg["CONFIG_NR_CPUS"])
    assert out.bpf_jit == (1 if cfg.get("CONFIG_BPF_JIT") == "y" else 0)
    assert out.bpf_syscall == {"y": 1, "m": 2}.get(cfg.get("CONFIG_BPF_SYSCALL", "n"), 0)
    assert out.not_real_option == 0  # weak and unknown: zero
    assert out.hostname == cfg["CONFIG_DEFAULT_HOSTNAME"].strip('"').encode()
    assert out.has_cookie == 1 and out.has_syscall_wrapper == 1


def test_unguarded_missing_field_fails_readably(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("core_fail"))
    with pytest.raises(CoreRelocationError) as info:
        obj.load()
    msg = str(info.value)
    assert (
        "CO-RE relocation #0 (task_struct___future.no_such_field_in_any_kernel) failed: "
        "field not found in kernel BTF" in msg
    )
    assert "program 'unguarded'" in msg
    obj.close()


def _normalised_xlated(code: bytes) -> list[bytes]:
    """Instructions with ld_imm64 immediates (map addresses) masked."""
    out = []
    i = 0
    while i < len(code):
        insn = code[i : i + 8]
        if insn[0] == 0x18:
            out.append(insn[:4] + b"????")
            out.append(code[i + 8 : i + 12] + b"????")
            i += 16
            continue
        out.append(insn)
        i += 8
    return out


@pytest.mark.parametrize("name", ["core", "globals"])
def test_relocated_code_equals_libbpf(bpf_obj, name: str) -> None:  # type: ignore[no-untyped-def]
    from pybpf.sys.fs import ensure_bpffs

    ensure_bpffs()
    shutil.rmtree(PINS, ignore_errors=True)
    subprocess.run(
        ["bpftool", "prog", "loadall", str(bpf_obj(name)), str(PINS)],
        check=True,
        capture_output=True,
    )
    try:
        with pybpf.load(bpf_obj(name)) as obj:
            for pname, prog in obj.programs.items():
                ref = pybpf.Program.from_pin(PINS / pname)
                try:
                    assert _normalised_xlated(prog.xlated()) == _normalised_xlated(ref.xlated()), (
                        pname
                    )
                finally:
                    ref.close()
    finally:
        shutil.rmtree(PINS, ignore_errors=True)

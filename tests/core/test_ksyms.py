"""``.ksyms`` externs: kallsyms parsing, typed/typeless/kfunc resolution, real kernel."""

from __future__ import annotations

import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from core_btf_builder import BTFBuilder

from pybpf.btf import BTF, Kind
from pybpf.elf.externs import ExternKind, collect_externs
from pybpf.elf.reader import ElfObject
from pybpf.errors import ExternError
from pybpf.kernel.ksyms import KernelBTFs, parse_kallsyms, resolve_ksym, resolve_ksyms

KALLSYMS = """\
ffffffff81000000 T _stext
ffffffff821f5f60 T schedule
ffffffff82000010 t helper
ffffffff82000020 t helper
ffffffff83000000 d counter.llvm.123456
ffffffffc0001000 t mod_fn\t[some_mod]
0000000000000000 A fixed_percpu_data
bogus line
"""


@dataclass(frozen=True)
class Ext:
    name: str
    type_id: int
    is_weak: bool = False
    is_func: bool = False


def test_parse_kallsyms() -> None:
    ks = parse_kallsyms(KALLSYMS)
    assert ks.lookup("schedule") == (0xFFFFFFFF821F5F60,)
    assert ks.lookup("helper") == (0xFFFFFFFF82000010, 0xFFFFFFFF82000020)
    assert ks.lookup("counter") == (0xFFFFFFFF83000000,)
    assert ks.lookup("mod_fn") == (0xFFFFFFFFC0001000,)
    assert ks.types["schedule"] == "T" and ks.lookup("missing") == ()


def test_typeless_ksyms() -> None:
    local = BTFBuilder().build()
    ks = parse_kallsyms(KALLSYMS)
    r = resolve_ksym(local, Ext("schedule", 0), None, ks)
    assert r.found and r.kind == "addr" and r.address == 0xFFFFFFFF821F5F60
    assert not resolve_ksym(local, Ext("nope", 0, is_weak=True), None, ks).found
    with pytest.raises(ExternError, match="'nope' \\(strong\\) is not in /proc/kallsyms"):
        resolve_ksym(local, Ext("nope", 0), None, ks)
    with pytest.raises(ExternError, match="'helper' is ambiguous"):
        resolve_ksym(local, Ext("helper", 0), None, ks)


def kernel_and_local() -> tuple[KernelBTFs, BTF, dict[str, int]]:
    kb = BTFBuilder()
    ki = kb.int("int", 4, signed=True)
    kstruct = kb.struct("task", 8, [("pid", ki, 0)])
    kptr = kb.ptr(kstruct)
    kb.var("counter", ki)
    kb.func("kf_get", kb.func_proto(kptr, [("pid", ki)]))
    vmlinux = kb.build("vmlinux")
    mb = BTFBuilder(vmlinux)
    mb.func("mod_kf", mb.func_proto(ki, []))
    mb.var("mod_var", ki)
    module = mb.build("m")
    lb = BTFBuilder()
    li = lb.int("int", 4, signed=True)
    ls = lb.struct("task", 4, [("pid", li, 0)])
    lptr = lb.ptr(ls)
    ids = {
        "int": li,
        "task": ls,
        "kf_get": lb.func("kf_get", lb.func_proto(lptr, [("p", li)])),
        "kf_get___v2": lb.func("kf_get___v2", lb.func_proto(lptr, [("p", li)])),
        "kf_bad": lb.func("kf_get", lb.func_proto(li, [])),
        "mod_kf": lb.func("mod_kf", lb.func_proto(li, [])),
        "absent": lb.func("absent_kf", lb.func_proto(li, [])),
    }
    return KernelBTFs(vmlinux, [("m", module)]), lb.build(), ids


def test_typed_vars() -> None:
    kernel, local, ids = kernel_and_local()
    r = resolve_ksym(local, Ext("counter", ids["int"]), kernel)
    assert (r.kind, r.found, r.btf_name) == ("var", True, "vmlinux")
    assert r.btf_id == kernel.vmlinux.find("counter", Kind.VAR)[0]
    m = resolve_ksym(local, Ext("mod_var", ids["int"]), kernel)
    assert m.found and m.in_module and m.btf_name == "m" and m.btf_id >= kernel.vmlinux.type_count
    with pytest.raises(ExternError, match="'counter': incompatible types"):
        resolve_ksym(local, Ext("counter", ids["task"]), kernel)
    assert not resolve_ksym(local, Ext("gone", ids["int"], is_weak=True), kernel).found
    with pytest.raises(ExternError, match="'gone' \\(strong\\): no such variable"):
        resolve_ksym(local, Ext("gone", ids["int"]), kernel)


def test_kfuncs() -> None:
    kernel, local, ids = kernel_and_local()
    r = resolve_ksym(local, Ext("kf_get", ids["kf_get"], is_func=True), kernel)
    assert (r.kind, r.found, r.btf_name) == ("kfunc", True, "vmlinux")
    assert r.btf_id == kernel.vmlinux.find("kf_get", Kind.FUNC)[0]
    flav = resolve_ksym(local, Ext("kf_get___v2", ids["kf_get___v2"], is_func=True), kernel)
    assert flav.found and flav.btf_id == r.btf_id
    mod = resolve_ksym(local, Ext("mod_kf", ids["mod_kf"], is_func=True), kernel)
    assert mod.found and mod.btf_name == "m"
    with pytest.raises(ExternError, match=r"prototype .* is incompatible"):
        resolve_ksym(local, Ext("kf_get", ids["kf_bad"], is_func=True), kernel)
    weak_bad = resolve_ksym(local, Ext("kf_get", ids["kf_bad"], is_weak=True, is_func=True), kernel)
    assert not weak_bad.found
    assert not resolve_ksym(
        local, Ext("absent_kf", ids["absent"], is_weak=True, is_func=True), kernel
    ).found
    with pytest.raises(ExternError, match="kfunc 'absent_kf' \\(strong\\): not found"):
        resolve_ksym(local, Ext("absent_kf", ids["absent"], is_func=True), kernel)


# ----------------------------------------------------------------------------- real kernel


def _libbpf_ksyms(obj: Path) -> str:
    pin = Path("/sys/fs/bpf") / f"pybpf_ksym_{uuid.uuid4().hex[:8]}"
    try:
        proc = subprocess.run(
            ["bpftool", "-d", "prog", "loadall", str(obj), str(pin)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        subprocess.run(["rm", "-rf", str(pin)], check=False)
    return proc.stderr


def test_ksyms_object_against_running_kernel(bpf_obj, kernel: None) -> None:  # type: ignore[no-untyped-def]
    obj = bpf_obj("ksyms")
    elf = ElfObject.from_file(obj)
    sec = elf.section(".BTF")
    assert sec is not None
    btf = BTF.from_bytes(sec.data)
    exts = [e for e in collect_externs(elf, btf).values() if e.kind is ExternKind.KSYM]
    assert {e.name for e in exts} == {
        "schedule",
        "runqueues",
        "bpf_prog_active",
        "bpf_task_from_pid",
        "bpf_task_release",
        "bpf_pybpf_no_such_kfunc",
    }
    kernel_btfs = KernelBTFs.running()
    res = resolve_ksyms(btf, exts, kernel_btfs)

    kallsyms = Path("/proc/kallsyms").read_text()
    m = re.search(r"^([0-9a-f]+) [Tt] schedule$", kallsyms, re.M)
    assert m and res["schedule"].address == int(m[1], 16) != 0
    vml = kernel_btfs.vmlinux
    for name in ("runqueues", "bpf_prog_active"):
        assert res[name].kind == "var" and res[name].btf_id == vml.find(name, Kind.VAR)[0]
    for name in ("bpf_task_from_pid", "bpf_task_release"):
        assert res[name].kind == "kfunc" and res[name].btf_id == vml.find(name, Kind.FUNC)[0]
        assert res[name].btf_name == "vmlinux"
    assert not res["bpf_pybpf_no_such_kfunc"].found

    # Same answers as libbpf.
    log = _libbpf_ksyms(obj)
    addr = re.search(r"extern \(ksym\) 'schedule': set to 0x([0-9a-f]+)", log)
    assert addr and int(addr[1], 16) == res["schedule"].address
    for name, tid in re.findall(
        r"extern \((?:var|func) ksym\) '(\w+)': resolved to \S* ?\[(\d+)\]", log
    ):
        assert res[name].btf_id == int(tid), name
    assert "'bpf_pybpf_no_such_kfunc' (weak): not resolved" in log

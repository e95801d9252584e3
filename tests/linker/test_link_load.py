"""Linked multi-object programs in the kernel: pybpf's link loads in pybpf and in
``bpftool prog loadall``, with the same programs, maps, translated instructions and
results as bpftool's own link (``bpftool gen object``) of the same objects."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import need, need_tool
from tests.linker.conftest import APP, bpftool_link

import pybpf
from pybpf.btf import BTF, Struct
from pybpf.elf.reader import ElfObject
from pybpf.errors import StaticLinkError
from pybpf.linker import link_files, link_objects

pytestmark = pytest.mark.usefixtures("kernel")

Obj = Callable[[str], Path]


def _bpftool(*args: str) -> str:
    exe = need_tool("bpftool", "the reference loader")
    proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"bpftool {' '.join(args)}: {proc.stderr}"
    return proc.stdout


@pytest.fixture()
def bpffs() -> Iterator[Path]:
    """A fresh directory in bpffs, removed with its pins afterwards."""
    d = Path(f"/sys/fs/bpf/pybpf_linker_{os.getpid()}")
    d.mkdir()
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _loadall(obj: Path, pins: Path) -> dict[str, tuple[Any, ...]]:
    """Load every program of ``obj`` with bpftool: name -> (type, xlated code, maps)."""
    _bpftool("prog", "loadall", str(obj), str(pins))
    out: dict[str, tuple[Any, ...]] = {}
    for pin in sorted(pins.iterdir()):
        info = json.loads(_bpftool("-j", "prog", "show", "pinned", str(pin)))
        maps = {i: json.loads(_bpftool("-j", "map", "show", "id", str(i)))
                for i in info.get("map_ids", [])}  # fmt: skip
        xlated = _bpftool("prog", "dump", "xlated", "pinned", str(pin))
        names = {i: m["name"] for i, m in maps.items()}
        xlated = re.sub(
            r"map\[id:(\d+)\]", lambda m, names=names: f"map[{names[int(m[1])]}]", xlated
        )
        shapes = sorted((m["name"], m["type"], m["bytes_key"], m["bytes_value"],
                         m["max_entries"], m["flags"]) for m in maps.values())  # fmt: skip
        out[info["name"]] = (info["type"], xlated, shapes)
    return out


def test_loads_in_bpftool_like_bpftools_link(link_obj: Obj, tmp_path: Path, bpffs: Path) -> None:
    inputs = [link_obj(n) for n in APP]
    (tmp_path / "ours").mkdir()
    (tmp_path / "ref").mkdir()
    ours = link_files(tmp_path / "ours" / "app.bpf.o", inputs)  # same name: same map names
    ref = bpftool_link(tmp_path / "ref" / "app.bpf.o", inputs)
    mine, theirs = _loadall(ours, bpffs / "ours"), _loadall(ref, bpffs / "ref")
    assert set(mine) == {"main_prog", "lib_prog"}
    assert mine == theirs
    xlated = mine["main_prog"][1]
    assert "call pc+" in xlated and "lib_mul" in xlated  # extern call resolved to a subprogram
    assert "; r = lib_mul(main_cfg, 4)" in xlated  # line info kept
    assert {m[0] for m in mine["main_prog"][2]} >= {"shared", "lib_map", "app.bss", "app.data"}


def _task_pid_offset() -> int:
    btf = BTF.load_vmlinux()
    t = btf.type(btf.find_one("task_struct"))
    assert isinstance(t, Struct)
    return next(m.bit_offset // 8 for m in t.members if m.name == "pid")


def _run(obj: pybpf.Object) -> dict[str, Any]:
    """Run both programs once and read what they left behind."""
    main = obj.programs["main_prog"].test_run().retval
    lib = obj.programs["lib_prog"].test_run().retval
    g = obj.globals
    return {
        "main": main, "lib": lib, "main_out": g["main_out"], "lib_out": g["lib_out"],
        "lib_bss": g["lib_bss"], "shared": (obj.maps["shared"][0], obj.maps["shared"][1]),
        "lib_map": obj.maps["lib_map"][0],
        "msgs": (bytes(g["main_msg"]).rstrip(b"\0"), bytes(g["lib_msg"]).rstrip(b"\0")),
    }  # fmt: skip


def test_same_behaviour_as_bpftools_link(link_obj: Obj, tmp_path: Path) -> None:
    inputs = [link_obj(n) for n in APP]
    ref = bpftool_link(tmp_path / "app.bpf.o", inputs)
    with pybpf.load(inputs) as obj:
        mine = _run(obj)
    with pybpf.load(ref) as obj:
        theirs = _run(obj)
    assert mine == theirs
    # the C: lib_mul(3, 4) + link_lib's strong weak_bias + the first weak weak_only
    # + main's static helper(3) + link_lib's strong weak_var + lib_add(lib_ro, 0)
    main = 12 + 10 + 200 + 1003 + 7 + 5
    assert mine["main"] == main and mine["lib"] == 2001  # link_lib's own static helper(1)
    assert mine["main_out"] == main + 42 + 1 + 1 + 6  # lib_data, counter, kconfig, bpf_loop
    assert mine["lib_out"] == 2042 + 42 + 2 + 200 + _task_pid_offset() + 1  # CO-RE
    assert (mine["lib_bss"], mine["shared"], mine["lib_map"]) == (1, (main, 1), 1)
    assert mine["msgs"] == (b"main=%d" % main, b"lib=2001")  # both objects' format strings


def test_other_order_first_weak_wins(link_obj: Obj, tmp_path: Path, bpffs: Path) -> None:
    """link_main first: its weak_only wins, and its extern maps come before their
    definitions (bpftool 7.1's own link of this order does not load in libbpf 1.1)."""
    inputs = [link_obj(n) for n in reversed(APP)]
    with pybpf.load(inputs) as obj:
        assert obj.programs["main_prog"].test_run().retval == 12 + 10 + 100 + 1003 + 7 + 5
        assert obj.programs["lib_prog"].test_run().retval == 2001
        assert obj.globals["weak_var"] == 7
    out = link_files(tmp_path / "app.bpf.o", inputs)
    assert set(_loadall(out, bpffs / "ours")) == {"main_prog", "lib_prog"}


def test_open_list_with_conflict_raises(link_obj: Obj) -> None:
    fds = set(os.listdir("/proc/self/fd"))
    with pytest.raises(StaticLinkError) as ei:
        pybpf.open([link_obj("link_lib"), link_obj("link_dup")])
    assert ei.value.symbol == "lib_mul" and len(ei.value.files) == 2
    assert set(os.listdir("/proc/self/fd")) <= fds


def test_linked_rodata_set_from_python(link_obj: Obj) -> None:
    """A .rodata variable of one object, read through an extern by the other, takes the
    value Python gives it before load."""
    with pybpf.open([link_obj(n) for n in APP]) as obj:
        obj.globals["lib_ro"] = 9
        obj.globals["main_cfg"] = 2
        obj.load()
        assert obj.programs["main_prog"].test_run().retval == 8 + 10 + 200 + 1002 + 7 + 9


def _older_clang() -> str | None:
    """An older clang than the test objects' (Debian packages 13..16), if installed."""
    return next(
        (c for c in ("clang-13", "clang-14", "clang-15", "clang-16") if shutil.which(c)), None
    )


def test_objects_of_two_compilers(link_obj: Obj, tmp_path: Path) -> None:
    """link_lib from an older clang (other REL section flags, which bpftool 7.1's linker
    refuses) with link_main from clang-19: one program, same results."""
    cc = _older_clang()
    if cc is None:
        need(False, "no clang-13..16 installed (scripts/setup.sh installs them)")
    root = Path(__file__).resolve().parents[2]
    lib = tmp_path / "link_lib.bpf.o"
    flags = ["-g", "-O2", "-target", "bpf", "-idirafter", "/usr/include/x86_64-linux-gnu",
             "-D__TARGET_ARCH_x86", f"-I{root / 'src/pybpf/include'}",
             f"-I{link_obj('link_lib').parents[1]}", f"-I{root / 'tests/bpf'}"]  # fmt: skip
    src = root / "tests/bpf/link/link_lib.bpf.c"
    proc = subprocess.run([cc, *flags, "-c", str(src), "-o", str(lib)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with pybpf.load([lib, link_obj("link_main")]) as obj:
        assert obj.programs["main_prog"].test_run().retval == 12 + 10 + 200 + 1003 + 7 + 5
        assert obj.programs["lib_prog"].test_run().retval == 2001


def test_kfuncs_declared_by_both_objects(link_obj: Obj, tmp_path: Path, bpffs: Path) -> None:
    """Both objects declare the same kfuncs (bpftool 7.1's linker fails on this): one
    .ksyms entry each; the object runs in pybpf and loads in bpftool."""
    inputs = [link_obj("link_kfunc_a"), link_obj("link_kfunc_b")]
    with pybpf.load(inputs) as obj:
        assert obj.programs["kfunc_a"].test_run().retval == 6
        assert obj.programs["kfunc_b"].test_run().retval == 15  # a's kf_value(5)
        assert obj.globals["kf_count"] == 11
    raw = ElfObject.from_bytes(link_objects(inputs)).section(".BTF")
    assert raw is not None
    btf = BTF.from_bytes(raw.data)
    (ksyms,) = [t for _, t in btf if t.kind.name == "DATASEC" and t.name == ".ksyms"]
    names = sorted(btf.name_of(v.type) for v in ksyms.vars)  # type: ignore[union-attr]
    assert names == ["bpf_rcu_read_lock", "bpf_rcu_read_unlock"]
    out = link_files(tmp_path / "kf.bpf.o", inputs)
    assert set(_loadall(out, bpffs / "kf")) == {"kfunc_a", "kfunc_b"}

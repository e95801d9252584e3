"""Objects from every compiler Debian packages load and translate as libbpf's do.

Each clang (13, 14, 15, 16, 19) builds a few test objects with the test Makefile;
GCC's BPF back end (Debian's gcc-bpf, GCC 12) builds the ones it can. pybpf loads
each object, and every program's translated instructions (``xlated``, map ids masked)
must equal those of the same object loaded by the system libbpf.

GCC 12's limits, found on tests/bpf: it cannot call helpers declared the libbpf way
(function-pointer constants: "indirect call ... not supported by eBPF"), emits no
``__ksym``/``__kconfig`` externs as libbpf wants them (extern FUNC/VAR without extern
linkage), no ENUM64 (``__ulong`` values), no line info, no struct_ops relocations,
and needs binutils' old data relocation numbers (R_BPF_DATA_64 = 12), which pybpf
reads. clang 13 and 14 cannot build CO-RE type-match relocations (``core``), and
only clang 18+ knows ``-mcpu=v4``.
"""

from __future__ import annotations

import re
import struct
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import BPF_OUT, BPF_SRC, ROOT, need_tool

import pybpf
import pybpf.errors

pytestmark = pytest.mark.usefixtures("kernel")

# object -> oldest clang that builds it
CLANG_OBJECTS = {"globals": 13, "tailcall": 13, "net_socket": 13, "core": 15}
CLANGS = ["clang-13", "clang-14", "clang-15", "clang-16", "clang-19"]
GCC_OBJECTS = ["tailcall", "tools_xdp", "events_printk"]

GCC_FLAGS = [
    "-O2",
    "-gbtf",
    "-mco-re",
    "-D__TARGET_ARCH_x86",
    "-idirafter",
    "/usr/include",
    "-idirafter",
    "/usr/include/x86_64-linux-gnu",
    "-I",
    str(ROOT / "src/pybpf/include"),
    "-I",
    str(BPF_OUT),
    "-I",
    str(BPF_SRC),
]

PSEUDO_MAP_FD, PSEUDO_MAP_VALUE = 1, 2


def _masked(code: bytes) -> bytes:
    """Translated code with map ids masked (each load creates its own maps)."""
    out = bytearray(code)
    i = 0
    while i + 8 <= len(out):
        if out[i] == 0x18:  # ld_imm64
            if out[i + 1] >> 4 in (PSEUDO_MAP_FD, PSEUDO_MAP_VALUE):
                struct.pack_into("<i", out, i + 4, 0)
            i += 16
        else:
            i += 8
    return bytes(out)


def _same_as_libbpf(libbpf_load: Callable[..., str], path: Path) -> int:
    theirs = {}
    for line in libbpf_load("-x", path).splitlines():
        if line.startswith("xlated "):
            _, name, code = line.split(" ")
            theirs[name] = _masked(bytes.fromhex(code))
    assert theirs, f"libbpf loaded no program of {path.name}"
    with pybpf.load(path) as obj:
        ours = {n: _masked(p.xlated()) for n, p in obj.programs.items() if p.loaded}
    assert set(ours) == set(theirs), path.name
    for name in ours:
        assert ours[name] == theirs[name], f"{path.name}: program {name!r} differs from libbpf"
    return len(ours)


@pytest.mark.parametrize("cc", CLANGS)
def test_clang_objects_match_libbpf(
    cc: str, libbpf_load: Callable[..., str], bpf_objects: Path, tmp_path: Path
) -> None:
    need_tool(cc, "the compiler-range test builds the test objects with it")
    version = int(cc.split("-")[1])
    names = [n for n, oldest in CLANG_OBJECTS.items() if version >= oldest]
    targets = [str(tmp_path / f"{n}.bpf.o") for n in names]
    vmlinux = BPF_OUT / "vmlinux.h"  # built by the bpf_objects fixture
    make = ["make", "-s", "-C", str(BPF_SRC), f"CLANG={cc}", f"OUT={tmp_path}"]
    subprocess.run([*make, f"VMLINUX_GEN=cat {vmlinux}", *targets], check=True, capture_output=True)
    assert sum(_same_as_libbpf(libbpf_load, Path(t)) for t in targets) >= len(names)


def test_gcc_objects_match_libbpf(
    libbpf_load: Callable[..., str], bpf_objects: Path, tmp_path: Path
) -> None:
    gcc = need_tool("bpf-gcc", "GCC's BPF back end (Debian package gcc-bpf)")
    version = subprocess.run([gcc, "-dumpversion"], capture_output=True, text=True).stdout
    assert re.match(r"\d+", version)
    for name in GCC_OBJECTS:
        out = tmp_path / f"{name}.bpf.o"
        subprocess.run(
            [gcc, *GCC_FLAGS, "-c", str(BPF_SRC / f"{name}.bpf.c"), "-o", str(out)],
            check=True,
            capture_output=True,
        )
        assert _same_as_libbpf(libbpf_load, out) >= 1
        # GCC marks `signed char` SIGNED|CHAR, which every kernel refuses; the sanitized
        # BTF loads, so the programs keep their func and line info (libbpf drops the BTF)
        with warnings.catch_warnings():
            warnings.simplefilter("error", pybpf.errors.BTFFallbackWarning)
            with pybpf.load(out) as obj:
                assert obj.btf_loaded, name

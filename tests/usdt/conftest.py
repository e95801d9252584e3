"""Fixtures of the USDT tests: the target program (PIE and not) with its shared library."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "usdt"
SRC = Path(__file__).resolve().parent
TARGET = "pybpf_usdt_target"  # the name usdt_args.bpf.c's SEC("usdt/...") looks up on $PATH
LIB = "libpybpf_usdt.so"


@dataclass(frozen=True)
class UsdtBuild:
    """One build of the target: its directory, executable and shared library."""

    dir: Path
    exe: Path
    lib: Path


def _stale(out: Path, *srcs: Path) -> bool:
    return not out.exists() or any(out.stat().st_mtime < s.stat().st_mtime for s in srcs)


def _build(variant: str, *flags: str) -> UsdtBuild:
    gcc = shutil.which("gcc") or shutil.which("cc")
    need(gcc is not None, "gcc is needed to build the USDT target")
    need(
        Path("/usr/include/x86_64-linux-gnu/sys/sdt.h").exists()
        or Path("/usr/include/sys/sdt.h").exists(),
        "<sys/sdt.h> is missing (Debian package systemtap-sdt-dev)",
    )
    assert gcc is not None
    out = BUILD / variant
    out.mkdir(parents=True, exist_ok=True)
    lib, exe = out / LIB, out / TARGET
    lib_src, sema_src, exe_src = SRC / "usdt_lib.c", SRC / "usdt_sema.c", SRC / "usdt_target.c"
    if _stale(lib, lib_src):
        tmp = lib.with_suffix(".tmp")
        subprocess.run(
            [gcc, "-O2", "-g", "-fPIC", "-shared", "-o", str(tmp), str(lib_src)], check=True
        )
        tmp.replace(lib)
    if _stale(exe, exe_src, sema_src, lib):
        tmp = exe.with_suffix(".tmp")
        subprocess.run(
            [
                gcc,
                "-O2",
                "-g",
                *flags,
                "-o",
                str(tmp),
                str(exe_src),
                str(sema_src),
                f"-L{out}",
                "-lpybpf_usdt",
                "-Wl,-rpath,$ORIGIN",
            ],
            check=True,
        )
        tmp.replace(exe)
    return UsdtBuild(out, exe, lib)


@pytest.fixture(scope="session")
def usdt_pie() -> UsdtBuild:
    """The target as a PIE executable (gcc's default) and its library."""
    return _build("pie", "-fPIE", "-pie")


@pytest.fixture(scope="session")
def usdt_nopie() -> UsdtBuild:
    """The target as a fixed-address (ET_EXEC) executable and its library."""
    return _build("nopie", "-fno-pie", "-no-pie")

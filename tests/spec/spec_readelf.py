"""llvm-readelf as an independent reference for the object-model tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

READELF = shutil.which("llvm-readelf-19") or shutil.which("llvm-readelf")

#: every test object the object model must read (built by the bpf_objects fixture)
SPEC_OBJECTS = (
    "legacy_tracex",
    "legacy_hello",
    "legacy_spec_small",
    "legacy_spec_large",
    "globals",
    "core",
    "core_fail",
    "maps",
    "tailcall",
    "verifier_fail",
    "insn_v4",
    "spec_struct_ops",
    "spec_multi",
)


@dataclass(frozen=True)
class RSection:
    index: int
    name: str
    type: str
    size: int
    flags: str


@dataclass(frozen=True)
class RSymbol:
    value: int
    size: int
    type: str
    bind: str
    vis: str
    ndx: str
    name: str


def _run(*args: str) -> str:
    if READELF is None:
        pytest.fail("llvm-readelf is needed as the reference for these tests")
    return subprocess.run([READELF, *args], check=True, capture_output=True, text=True).stdout


def readelf_sections(path: Path) -> list[RSection]:
    out = []
    for line in _run("-S", "-W", str(path)).splitlines():
        m = re.match(r"^\s*\[\s*(\d+)\]\s+(.*)$", line)
        if not m or m.group(1) == "0":
            continue
        tok = m.group(2).split()
        flags = tok[6] if len(tok) == 10 else ""
        out.append(RSection(int(m.group(1)), tok[0], tok[1], int(tok[4], 16), flags))
    return out


def readelf_symbols(path: Path) -> list[RSymbol]:
    out = []
    for line in _run("-s", "-W", str(path)).splitlines():
        m = re.match(r"^\s*\d+:\s+(.*)$", line)
        if not m:
            continue
        tok = m.group(1).split()
        name = tok[6] if len(tok) > 6 else ""
        out.append(RSymbol(int(tok[0], 16), int(tok[1], 0), tok[2], tok[3], tok[4], tok[5], name))
    return out

"""Helpers for the BTF tests (a uniquely named module, importable from any test)."""

from __future__ import annotations

import subprocess

from tests.conftest import need_tool


def bpftool(*args: str) -> str:
    """Run bpftool (a reference tool for differential tests) and return stdout."""
    exe = need_tool("bpftool", "the reference for BTF dumps")
    proc = subprocess.run([exe, *args], capture_output=True, text=True, check=True)
    return proc.stdout

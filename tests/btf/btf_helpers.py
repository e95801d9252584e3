"""Helpers for the BTF tests (a uniquely named module, importable from any test)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def bpftool(*args: str) -> str:
    """Run bpftool (a reference tool for differential tests) and return stdout."""
    exe = shutil.which("bpftool")
    if exe is None:
        pytest.skip("bpftool not installed")
    proc = subprocess.run([exe, *args], capture_output=True, text=True, check=True)
    return proc.stdout

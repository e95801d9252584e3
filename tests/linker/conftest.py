"""The multi-object test programs (tests/bpf/link) and bpftool's links of them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import need_tool

# The program split over two objects; definitions first, so that bpftool's own
# linker (libbpf 1.1) produces a loadable object for the comparison.
APP = ("link_lib", "link_main")


@pytest.fixture(scope="session")
def link_obj(bpf_objects: Path) -> Callable[[str], Path]:
    """Path of one compiled object of tests/bpf/link by stem."""

    def get(name: str) -> Path:
        path = bpf_objects / "link" / f"{name}.bpf.o"
        assert path.exists(), f"no test object {path}"
        return path

    return get


def bpftool_link(out: Path, inputs: list[Path]) -> Path:
    """``bpftool gen object OUT INPUTS...`` (the reference linker)."""
    exe = need_tool("bpftool", "the reference static linker")
    proc = subprocess.run([exe, "gen", "object", str(out), *map(str, inputs)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out

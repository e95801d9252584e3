"""The libbpf reference loader shared by the parity tests (built once with gcc -lbpf)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import need, need_tool

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def libbpf_load(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Run the system libbpf on an object: ``libbpf_load(obj, "-n", "prog")`` returns its
    stdout (``.kconfig`` hex, ``OK`` or ``ERR <errno>``)."""
    gcc = need_tool("gcc", "the libbpf reference loader is built with gcc")
    need(Path("/usr/include/bpf/libbpf.h").exists(), "libbpf-dev is not installed")
    exe = tmp_path_factory.mktemp("libbpf") / "libbpf_load"
    subprocess.run([gcc, "-O1", "-o", str(exe), str(HERE / "libbpf_load.c"), "-lbpf"], check=True)

    def run(obj: Path, *args: str) -> str:
        proc = subprocess.run(
            [str(exe), *args, str(obj)], capture_output=True, text=True, check=True
        )
        return proc.stdout.strip()

    return run

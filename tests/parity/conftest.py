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
    """Run the reference loader: ``libbpf_load("-n", "prog", obj)`` returns its stdout
    (``.kconfig`` hex, ``OK`` or ``ERR <errno>``; one line per name with ``-t``)."""
    gcc = need_tool("gcc", "the libbpf reference loader is built with gcc")
    need(Path("/usr/include/bpf/libbpf.h").exists(), "libbpf-dev is not installed")
    exe = tmp_path_factory.mktemp("libbpf") / "libbpf_load"
    subprocess.run([gcc, "-O1", "-o", str(exe), str(HERE / "libbpf_load.c"), "-lbpf"], check=True)

    def run(*args: str | Path) -> str:
        proc = subprocess.run(
            [str(exe), *map(str, args)], capture_output=True, text=True, check=True
        )
        return proc.stdout.strip()

    return run

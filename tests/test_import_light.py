"""``import pybpf`` stays light: it must not pull in the loader, BTF, ELF or numpy
(those load on first use of ``pybpf.open`` and friends)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pybpf

HEAVY = ("pybpf.loader", "pybpf.btf", "pybpf.elf", "pybpf.object", "numpy")


def _imported(code: str, **env_extra: str) -> list[str]:
    """Modules that ``python -X importtime -c code`` imported: the names importtime
    logs, plus what is in ``sys.modules`` at the end (importtime does not log modules
    loaded through ``importlib.import_module``)."""
    src = str(Path(pybpf.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    env.update(env_extra)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{code}\nimport sys; print(*sys.modules)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", proc.stderr, re.M)
    assert names, proc.stderr[-2000:]
    return names + proc.stdout.split()


def test_import_pybpf_is_light() -> None:
    names = _imported("import pybpf")
    assert "pybpf" in names and "pybpf.errors" in names  # the probe sees pybpf's imports
    heavy = [n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY)]
    assert heavy == [], f"import pybpf pulled in {heavy}"


def test_the_probe_catches_heavy_imports() -> None:
    """The same probe does see the loader once a name that needs it is used."""
    names = _imported("import pybpf; pybpf.ObjectSpec")
    assert "pybpf.elf.spec" in names and any(n.startswith("pybpf.btf") for n in names)


LOAD_PATH_UNNEEDED = ("dataclasses", "inspect", "ast", "hashlib", "pybpf.btf.layout")


@pytest.mark.usefixtures("kernel")
def test_a_load_imports_only_what_it_uses() -> None:
    """open + load + attach + close of the bootstrap tool's object imports neither the
    standard ``dataclasses`` (with ``inspect``, ``ast``: ~4.5 ms) nor the value layouts
    (map codecs are built on first use), nor ``hashlib`` (which loads OpenSSL)."""
    obj = Path(pybpf.__file__).resolve().parent / "tools" / "objects" / "bootstrap.bpf.o"
    names = _imported(
        f"import pybpf; o = pybpf.open({str(obj)!r}); o.load(); o.attach(); o.close()"
    )
    assert "pybpf.loader.load" in names  # the probe saw the load
    unneeded = [n for n in LOAD_PATH_UNNEEDED if n in names]
    assert unneeded == [], f"a load of bootstrap imported {unneeded}"


@pytest.mark.usefixtures("kernel")
def test_a_load_answered_from_the_core_cache_skips_kernel_btf(tmp_path: Path) -> None:
    """The second process this boot to load bootstrap (same cache directory) takes its
    CO-RE answers from the per-boot cache: neither the CO-RE resolver nor the
    instruction decoder it patches with is imported."""
    obj = Path(pybpf.__file__).resolve().parent / "tools" / "objects" / "bootstrap.bpf.o"
    code = f"import pybpf; o = pybpf.open({str(obj)!r}); o.load(); o.attach(); o.close()"
    first = _imported(code, PYBPF_CACHE_DIR=str(tmp_path))
    assert "pybpf.btf.core" in first and "pybpf.asm.insn" in first  # the cold load computes
    second = _imported(code, PYBPF_CACHE_DIR=str(tmp_path))
    assert "pybpf.loader.load" in second
    assert [n for n in ("pybpf.btf.core", "pybpf.asm.insn") if n in second] == []

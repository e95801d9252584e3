"""Without privileges, loading a real object says what is missing (root, CAP_BPF,
CAP_PERFMON/CAP_NET_ADMIN, kernel.unprivileged_bpf_disabled) instead of claiming the
kernel lacks a feature; feature probes raise on EPERM instead of answering "no"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("kernel")

SRC = Path(__file__).resolve().parents[2] / "src"
NOBODY = 65534


@pytest.fixture()
def shared_dir() -> Iterator[Path]:
    """A directory nobody can read (the objects are copied there)."""
    d = Path(tempfile.mkdtemp(prefix=f"hr_priv_{os.getpid()}_"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d)


def _as_nobody(code: str, *caps: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as uid/gid 65534 with only the given ambient capabilities."""
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to drop privileges")
    cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    if caps:
        wanted = ",".join(f"+{c}" for c in caps)
        cmd += [f"--inh-caps={wanted}", f"--ambient-caps={wanted}"]
    env = dict(os.environ, PYTHONPATH=str(SRC), HOME="/nonexistent")
    return subprocess.run(
        [*cmd, sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


LOAD = """
import pybpf
from pybpf.errors import BPFError, NotSupportedError
try:
    with pybpf.load({path!r}) as obj:
        obj.attach()
except NotSupportedError as exc:
    print("NOTSUPPORTED", exc)
except BPFError as exc:
    print(type(exc).__name__, getattr(exc, "errno", None), exc)
else:
    print("LOADED")
"""


def _copy(bpf_obj: Any, name: str, where: Path) -> str:
    dst = where / f"{name}.bpf.o"
    shutil.copy(bpf_obj(name), dst)
    dst.chmod(0o644)
    return str(dst)


def test_no_capabilities(bpf_obj: Any, shared_dir: Path) -> None:
    out = _as_nobody(LOAD.format(path=_copy(bpf_obj, "maps", shared_dir)))
    line = out.stdout.strip()
    assert out.returncode == 0, out.stderr
    assert not line.startswith(("NOTSUPPORTED", "LOADED")), line
    assert " 1 " in line  # errno EPERM
    assert "not supported" not in line
    assert f"not permitted for uid {NOBODY}" in line
    assert "missing: CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN" in line
    level = Path("/proc/sys/kernel/unprivileged_bpf_disabled").read_text().strip()
    if level != "0":
        assert f"kernel.unprivileged_bpf_disabled={level}" in line


def test_cap_bpf_without_perfmon(bpf_obj: Any, shared_dir: Path) -> None:
    """CAP_BPF alone creates plain maps but not a tracepoint program: the error names the
    program and CAP_PERFMON."""
    out = _as_nobody(LOAD.format(path=_copy(bpf_obj, "cli_run", shared_dir)), "bpf")
    line = out.stdout.strip()
    assert out.returncode == 0, out.stderr
    assert line.startswith("ProgramLoadError 1 "), line
    assert "load program 'on_getpgid'" in line
    assert "missing: CAP_PERFMON" in line and "not supported" not in line


def test_cap_bpf_without_net_admin(bpf_obj: Any, shared_dir: Path) -> None:
    out = _as_nobody(LOAD.format(path=_copy(bpf_obj, "maps", shared_dir)), "bpf")
    line = out.stdout.strip()
    assert line.startswith("MapError 1 "), line
    assert "create map 'm_devmap'" in line and "CAP_NET_ADMIN" in line
    assert "not supported" not in line


def test_probes_do_not_turn_eperm_into_unsupported() -> None:
    out = _as_nobody(
        """
        from pybpf.errors import KernelError
        from pybpf.sys import features
        from pybpf.uapi.enums import MapType, ProgType
        for probe in (features.has_btf, lambda: features.has_map_type(MapType.HASH),
                      lambda: features.has_prog_type(ProgType.KPROBE), features.has_ringbuf):
            try:
                print("ANSWER", probe())
            except KernelError as exc:
                print("RAISED", exc.errno)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:4] == ["RAISED 1"] * 4, out.stdout

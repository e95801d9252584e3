"""As a new user: install the built wheel into a fresh venv and run a tool from it with
no compiler on PATH — the shipped CO-RE objects make clang unnecessary."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("kernel")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp.glob("pybpf-*.whl")
    env_dir = tmp / "venv"
    # system site packages provide the dependencies (pyelftools, rich) offline
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(env_dir)], check=True
    )
    subprocess.run(
        [str(env_dir / "bin/python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    return env_dir


def test_installed_package_is_the_wheel(venv: Path) -> None:
    out = subprocess.run(
        [
            str(venv / "bin/python"),
            "-c",
            "import pybpf.tools as t; print(t.object_path('bootstrap'))",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
    ).stdout.strip()
    assert out.startswith(str(venv)) and Path(out).is_file()


def test_bootstrap_from_the_wheel_without_a_compiler(venv: Path, tmp_path: Path) -> None:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # any compiler the tool might call resolves to a failing stub first on PATH
    for name in ("clang", "clang-19", "cc", "gcc", "llc", "llc-19"):
        stub = bindir / name
        stub.write_text("#!/bin/sh\necho 'a compiler must not run' >&2\nexit 99\n")
        stub.chmod(0o755)
    env["PATH"] = f"{bindir}:{env['PATH']}"
    proc = subprocess.Popen(
        [str(venv / "bin/pybpf-bootstrap")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd="/",
    )
    try:
        time.sleep(2.0)
        subprocess.run(["/bin/true"], check=True)
        subprocess.run(["sh", "-c", "exit 4"], check=False)
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "a compiler must not run" not in err
    lines = out.splitlines()
    assert lines[0] == "TIME     EVENT COMM             PID     PPID    FILENAME/EXIT CODE"
    assert any(" EXEC " in ln and ln.endswith("/bin/true") for ln in lines), out
    assert any(" EXIT " in ln and "[4]" in ln for ln in lines), out


def test_wheel_ships_the_uapi_enum_stub(venv: Path) -> None:
    """enums.py builds its classes on first access; type checkers of an installed pybpf
    read the classes from enums.pyi, which must be in the wheel."""
    out = subprocess.run(
        [
            str(venv / "bin/python"),
            "-c",
            "import pybpf.uapi.enums as e, pathlib; "
            "p = pathlib.Path(e.__file__).with_suffix('.pyi'); print(p, p.is_file())",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.split()
    assert out[0].startswith(str(venv)) and out[1] == "True", out

"""pybpf.h, the BPF-side header: its helpers computed in the kernel, and `pybpf build`
compiling a source written against newer libbpf headers than the system's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf.cli.build import COMPAT_HEADER, include_dir
from pybpf.cli.main import main as cli_main
from pybpf.errors import BPFError, BTFError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUILD = ROOT / "build" / "header"

VALUES = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 79, 80, 1000, 2**31, 2**32 + 5, 2**64 - 1]


def _floor_log2(v: int) -> int:
    return max(v.bit_length() - 1, 0)


def test_include_dir_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["include-dir"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == include_dir()
    assert (printed / "pybpf.h").is_file()
    assert (printed / COMPAT_HEADER).is_file()


def test_helpers_compute_in_the_kernel(kernel: None, bpf_obj: Any) -> None:
    with pybpf.open(bpf_obj("header_hist")) as obj:
        obj.load()
        obj.globals["in"] = VALUES
        got: list[Any] = []
        with obj.ringbuf("hh_rb", got.append, event_type="struct hh_event") as rb:
            obj.programs["hh_run"].test_run()
            rb.poll(0)
        g = obj.globals
        assert list(g["out_log2"]) == [_floor_log2(v & 0xFFFFFFFF) for v in VALUES]
        assert list(g["out_log2l"]) == [_floor_log2(v) for v in VALUES]
        assert list(g["out_bcc"]) == [v.bit_length() for v in VALUES]  # bcc's bpf_log2l
        assert list(g["out_slot"]) == [v.bit_length() for v in VALUES]
        assert list(g["out_lin"]) == [min(v // 10, 7) for v in VALUES]
        log2 = dict(obj.maps["hh_log2"].items())
        assert len(log2) == 65
        for slot in range(65):
            assert log2[slot] == sum(1 for v in VALUES if v.bit_length() == slot)
        linear = dict(obj.maps["hh_linear"].items())
        assert linear == {s: sum(1 for v in VALUES if min(v // 10, 7) == s) for s in range(8)}
        # struct hh_event is only used by locals: PYBPF_EVENT kept it in BTF
        assert [(e.value, e.slot, e.tag) for e in got] == [
            (v, v.bit_length(), b"hh!") for v in VALUES
        ]


def test_missing_event_type_error_names_pybpf_event(kernel: None, bpf_obj: Any) -> None:
    with pybpf.open(bpf_obj("header_hist")) as obj:
        obj.load()
        with pytest.raises(
            BTFError, match=r"no type 'struct nosuch'.*PYBPF_EVENT\(struct nosuch\)"
        ):
            obj.ringbuf("hh_rb", print, event_type="struct nosuch")
        with pytest.raises(BPFError, match=r"PYBPF_EVENT\(struct hh_evnt\)"):
            obj.ringbuf("hh_rb", print, event_type="hh_evnt")


def _build(src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    cmd = [sys.executable, "-m", "pybpf", "build", str(src), "-o", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def new_libbpf_obj() -> Path:
    """tests/header/new_libbpf.bpf.c built by `pybpf build` with the system's headers."""
    from tests.conftest import need_tool

    need_tool("clang-19", "pybpf build compiles with clang")
    BUILD.mkdir(parents=True, exist_ok=True)
    out = BUILD / "new_libbpf.bpf.o"
    proc = _build(HERE / "new_libbpf.bpf.c", out)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr, proc.stderr
    return out


def test_without_the_compat_header_system_headers_fail(tmp_path: Path) -> None:
    """The test source really needs the fallbacks with these system headers (libbpf
    older than 1.2): plain clang with the same flags minus -include fails on them."""
    from tests.conftest import need

    from pybpf.cli.build import _find_clang, clang_command, vmlinux_header

    ver = Path("/usr/include/bpf/libbpf_version.h")
    need(ver.exists(), "libbpf-dev headers are installed")
    text = ver.read_text()
    if "LIBBPF_MINOR_VERSION 1\n" not in text or "LIBBPF_MAJOR_VERSION 1\n" not in text:
        need(False, "system libbpf headers are not 1.1 (Debian 12's)")
    hdr = vmlinux_header("/sys/kernel/btf/vmlinux")
    cmd = clang_command(
        _find_clang(None), HERE / "new_libbpf.bpf.c", tmp_path / "x.o", hdr.parent, []
    )
    i = cmd.index("-include")
    del cmd[i : i + 2]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode != 0
    for name in ("BPF_UPROBE", "bpf_for", "bpf_ksym_exists", "__ulong"):
        assert name in proc.stderr or name.lower() in proc.stderr.lower()


@pytest.fixture(scope="module")
def six_args() -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.fail("gcc is needed to build the uprobe target")
    BUILD.mkdir(parents=True, exist_ok=True)
    out = BUILD / "six_args"
    subprocess.run([gcc, "-O1", "-g", "-o", str(out), str(HERE / "six_args.c")], check=True)
    return out


def test_new_libbpf_macros_load_and_run(kernel: None, new_libbpf_obj: Path, six_args: Path) -> None:
    import os

    with pybpf.open(new_libbpf_obj) as obj:
        obj.load()
        assert obj.maps["seen"].info().map_extra == 3  # __ulong(map_extra, 3)
        obj.programs["nl_syscall"].test_run(ctx=bytes(8))
        r = dict(obj.maps["results"].items())
        assert r[3] == 1  # bpf_ksym_exists(bpf_task_from_pid)
        assert r[4] == 0  # bpf_ksym_exists(absent weak kfunc)
        assert r[5] == sum(range(3, 10))  # bpf_for
        assert r[6] == 5  # bpf_repeat
        assert r[7] == 0 + 1 + 2 + 3  # bpf_for_each(num, ...)
        assert r[8] == 1  # likely(true), unlikely(false)
        assert r[9] == 1  # __arg_ctx global function saw the ctx
        assert r[10] == os.getpid()  # bpf_core_cast(task)->tgid

        proc = subprocess.Popen([str(six_args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            up = obj.programs["nl_uprobe"].attach_uprobe(str(six_args), "pybpf_six", pid=proc.pid)
            ret = obj.programs["nl_uretprobe"].attach_uprobe(
                str(six_args), "pybpf_six", pid=proc.pid, retprobe=True
            )
            out, _ = proc.communicate(b"x", timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        up.close()
        ret.close()
        r = dict(obj.maps["results"].items())
        assert int(out) == 91
        assert (r[0], r[1], r[2]) == (11, 66, 91)  # BPF_UPROBE arg 1, arg 6, BPF_URETPROBE

"""LINUX_HAS_SYSCALL_WRAPPER without parsing kallsyms: kernel BTF, an early-stopping
scan, the per-boot cache file; and kallsyms parsed at most once per process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.conftest import need

from pybpf.btf import BTF
from pybpf.kernel import ksyms
from pybpf.kernel import syscall_wrapper as externs


@pytest.fixture
def fresh_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache dir and no answer remembered by this process."""
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(externs, "_wrapper_answer", None)
    return tmp_path


def _kallsyms_says() -> bool:
    arch = externs._SYSCALL_ARCH[os.uname().machine]
    return bool(
        ksyms.parse_kallsyms(Path("/proc/kallsyms").read_text()).lookup(f"__{arch}_sys_bpf")
    )


def test_btf_answer_matches_kallsyms() -> None:
    if not Path("/sys/kernel/btf/vmlinux").exists():
        need(False, "no kernel BTF")
    from_btf = externs.syscall_wrapper_from_btf(BTF.load_vmlinux())
    assert from_btf in (True, None)
    assert (from_btf is True) == _kallsyms_says()


def test_btf_answer_for_an_arch_without_wrappers() -> None:
    assert externs.syscall_wrapper_from_btf(BTF.load_vmlinux(), machine="sparc64") is False


def test_scan_stops_at_first_match_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "kallsyms"
    filler = b"ffffffff81000000 T some_function_name\n" * 4000  # > 64 KiB: several chunks
    cut = (1 << 16) - 5  # the needle straddles the first chunk boundary
    body = filler[:cut] + b" __x64_sys_bpf\n" + filler
    path.write_bytes(body)
    assert externs.kallsyms_has_prefix("__x64_sys_", str(path))
    assert not externs.kallsyms_has_prefix("__arm64_sys_", str(path))
    assert not externs.kallsyms_has_prefix("__x64_sys_", str(tmp_path / "absent"))


def test_scan_on_the_running_kernel() -> None:
    arch = externs._SYSCALL_ARCH[os.uname().machine]
    assert externs.kallsyms_has_prefix(f"__{arch}_sys_") == _kallsyms_says()


def test_answer_is_cached_per_boot(fresh_answer: Path) -> None:
    answer = externs.has_syscall_wrapper()
    assert answer == _kallsyms_says()
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    cached = fresh_answer / f"syscall-wrapper-{boot}"
    assert cached.read_bytes() == (b"1\n" if answer else b"0\n")
    # a later process (simulated) answers from the file, not from the kernel
    cached.write_bytes(b"0\n" if answer else b"1\n")
    externs._wrapper_answer = None
    assert externs.has_syscall_wrapper() is (not answer)


def test_foreign_or_bad_cache_file_is_ignored(fresh_answer: Path) -> None:
    truth = _kallsyms_says()
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    cached = fresh_answer / f"syscall-wrapper-{boot}"
    cached.write_bytes(b"garbage")
    assert externs.has_syscall_wrapper() is truth
    assert cached.read_bytes() == (b"1\n" if truth else b"0\n")
    if os.geteuid() == 0:
        cached.write_bytes(b"0\n" if truth else b"1\n")
        os.chown(cached, 65534, 65534)  # someone else's file: not trusted
        externs._wrapper_answer = None
        assert externs.has_syscall_wrapper() is truth


def test_kallsyms_parsed_once_per_process() -> None:
    first = ksyms.read_kallsyms()
    assert ksyms.read_kallsyms() is first
    again = ksyms.read_kallsyms(fresh=True)
    assert again is not first and ksyms.read_kallsyms() is again


def test_object_with_wrapper_extern_loads_without_kallsyms(
    bpf_obj,  # type: ignore[no-untyped-def]
    kernel: None,
    fresh_answer: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """core.bpf.c reads LINUX_HAS_SYSCALL_WRAPPER: the kernel sees the right value and
    the load never parses kallsyms."""
    truth = _kallsyms_says()

    def no_parse(text: str) -> ksyms.Kallsyms:
        raise AssertionError("kallsyms parsed for LINUX_HAS_SYSCALL_WRAPPER")

    monkeypatch.setattr(ksyms, "parse_kallsyms", no_parse)
    import pybpf

    obj = pybpf.open(bpf_obj("core"))
    obj.globals["target_tgid"] = os.getpid()
    with obj.load():
        obj.attach()
        os.getpid()
        out = obj.globals["out"]
    assert out.hits >= 1
    assert out.has_syscall_wrapper == int(truth)

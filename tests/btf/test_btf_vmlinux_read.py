"""Reading the kernel's BTF: the mapped copy equals read(2), the per-boot CRC memo is
used only when it fits the blob, and the parsed kernel BTF is the same either way."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from tests.conftest import need

from pybpf import _cachefile
from pybpf.btf import BTF, reader
from pybpf.btf import cache as btf_cache
from pybpf.btf.reader import VMLINUX_PATH, read_blob


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(d))
    return d


def _need_vmlinux() -> None:
    need(Path(VMLINUX_PATH).exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")


def test_read_blob_equals_read_for_sysfs_regular_and_empty_files(tmp_path: Path) -> None:
    _need_vmlinux()
    with open(VMLINUX_PATH, "rb") as f:
        assert read_blob(VMLINUX_PATH) == f.read()
    regular = tmp_path / "blob"
    regular.write_bytes(bytes(range(256)) * 100)
    assert read_blob(regular) == regular.read_bytes()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert read_blob(empty) == b""  # no mapping of an empty file: plain read
    r, w = os.pipe()  # a pipe does not map either
    os.write(w, b"\x9f\xeb")
    os.close(w)
    try:
        assert read_blob(f"/proc/self/fd/{r}") == b"\x9f\xeb"
    finally:
        os.close(r)
    with pytest.raises(OSError):
        read_blob(tmp_path / "missing")


def test_boot_id_is_this_boot() -> None:
    boot = _cachefile.boot_id()
    assert boot is not None
    assert boot == Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def test_vmlinux_key_memo_written_once_and_checked(cache_dir: Path) -> None:
    _need_vmlinux()
    data = read_blob(VMLINUX_PATH)
    want = btf_cache.content_key(data)
    assert reader._vmlinux_key(data) == want
    memo = cache_dir / f"vmlinux-btf-{_cachefile.boot_id()}"
    assert memo.stat().st_size == 12
    assert reader._vmlinux_key(data) == want  # from the memo
    # a memo that names another size, or fails its check word, is ignored and rewritten
    for bad in (
        struct.pack("<III", want[0] + 4, 1, (want[0] + 4) ^ 1 ^ 0x5A5A5A5A),
        struct.pack("<III", want[0], want[1] ^ 1, 0),
        b"junk",
    ):
        memo.write_bytes(bad)
        assert reader._vmlinux_key(data) == want
        assert struct.unpack("<III", memo.read_bytes())[:2] == want
    # a memo with a wrong CRC but a consistent check word is trusted only for this blob's
    # cache key: the index it names is absent, so the blob is parsed from scratch
    memo.write_bytes(struct.pack("<III", want[0], 7, want[0] ^ 7 ^ 0x5A5A5A5A))
    fake = BTF.from_file(VMLINUX_PATH, cache=True)
    real = BTF.from_bytes(data)
    assert fake.type_count == real.type_count
    assert fake.find("task_struct") == real.find("task_struct")


def test_kernel_btf_from_cache_equals_uncached_parse(cache_dir: Path) -> None:
    _need_vmlinux()
    cold = BTF.load_vmlinux()  # writes the index and the per-boot memo
    warm = BTF.load_vmlinux()
    plain = BTF.load_vmlinux(cache=False)
    assert warm._from_cache and not plain._from_cache
    assert list(warm._offsets) == list(plain._offsets) == list(cold._offsets)
    tid = plain.find("task_struct")
    assert warm.find("task_struct") == tid
    assert warm.type(tid[0]) == plain.type(tid[0])

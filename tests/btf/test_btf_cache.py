"""On-disk index cache: warm loads equal cold ones, content changes miss, bad files are ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf import BTF, Kind
from pybpf.btf import cache as btf_cache
from pybpf.btf.elfsec import btf_sections


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(d))
    return d


def _names(b: BTF) -> list[str]:
    return sorted({t.name for _, t in b if t.name})


def test_cold_and_warm_agree(bpf_obj, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    raw, _ = btf_sections(bpf_obj("btf_types").read_bytes())
    assert raw is not None
    cold = BTF.from_bytes(raw, cache=True)
    files = list(cache_dir.glob("btf-*.idx"))
    assert len(files) == 1
    cold_find = {n: cold.find(n) for n in _names(cold)}  # builds and saves the name index
    size_with_names = files[0].stat().st_size
    warm = BTF.from_bytes(raw, cache=True)
    assert warm._name_hashes is not None  # name index came from the cache
    assert list(warm._offsets) == list(cold._offsets)
    assert {n: warm.find(n) for n in _names(cold)} == cold_find
    assert warm.find("not_there") == []
    assert [t for _, t in warm] == [t for _, t in cold]
    assert size_with_names > 32


def test_content_change_misses(bpf_obj, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    raw, _ = btf_sections(bpf_obj("btf_types").read_bytes())
    assert raw is not None
    a = BTF.from_bytes(raw, cache=True)
    a.find("int")
    changed = bytearray(raw)
    tid = a.find_one("btf_event")
    pos = a.record_offset(tid) + 8  # the struct's size field
    changed[pos] ^= 1
    b = BTF.from_bytes(bytes(changed), cache=True)
    assert b._name_hashes is None  # not taken from a's cache entry
    assert b.type(tid).size == a.type(tid).size ^ 1  # type: ignore[union-attr]
    assert len(list(cache_dir.glob("btf-*.idx"))) == 2


def test_corrupt_cache_file_is_ignored(bpf_obj, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    raw, _ = btf_sections(bpf_obj("globals").read_bytes())
    assert raw is not None
    good = BTF.from_bytes(raw, cache=True)
    (path,) = cache_dir.glob("btf-*.idx")
    path.write_bytes(path.read_bytes()[:-4])  # truncated
    again = BTF.from_bytes(raw, cache=True)
    assert [t for _, t in again] == [t for _, t in good]
    # wrong offsets behind a valid header are caught by the plausibility check
    key = btf_cache.content_key(raw)
    idx = btf_cache.load(key)
    assert idx is not None
    idx.offsets[-1] += 1
    btf_cache.save(key, idx)
    again = BTF.from_bytes(raw, cache=True)
    assert [t for _, t in again] == [t for _, t in good]


def test_unwritable_or_disabled_cache(
    bpf_obj, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    raw, _ = btf_sections(bpf_obj("maps").read_bytes())
    assert raw is not None
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(blocker / "sub"))
    assert BTF.from_bytes(raw, cache=True).find("int")
    monkeypatch.setenv("PYBPF_CACHE_DIR", "")
    assert btf_cache.cache_dir() is None
    assert BTF.from_bytes(raw, cache=True).find("int")


def test_vmlinux_cold_second_and_warm_runs_agree(
    kernel: None, cache_dir: Path, vmlinux_btf: BTF
) -> None:
    names = ["task_struct", "pid_t", "int", "u32", "sk_buff", "__x64_sys_bpf", "not_a_type__"]
    want: dict[str, list[int]] = {n: [] for n in names}
    for t in range(1, len(vmlinux_btf)):
        name = vmlinux_btf.name_of(t)
        if name in want:
            want[name].append(t)
    cold = BTF.load_vmlinux()  # empty cache: writes type and name offsets
    few = ["task_struct", "sk_buff", "not_a_type__"]  # "int" ends too many strings
    assert {n: cold.find(n) for n in few} == {n: want[n] for n in few}
    assert cold._name_hashes is None  # answered by string search
    second = BTF.load_vmlinux()
    assert second._name_offs is not None and second._name_hashes is None
    assert {n: second.find(n) for n in names} == want  # builds and saves the hashed index
    warm = BTF.load_vmlinux()
    assert warm._name_hashes is not None and warm._all_starts is True
    assert {n: warm.find(n) for n in names} == want
    assert warm.find("pid_t", Kind.TYPEDEF) == vmlinux_btf.find("pid_t", Kind.TYPEDEF)
    assert list(warm._offsets) == list(vmlinux_btf._offsets)

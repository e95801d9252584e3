"""Cache files (the BTF name index, `pybpf build`'s vmlinux.h) cannot be planted,
redirected or tampered with: a file of another user, a group/other-writable file, a
symlink or a changed byte is never used, and writing replaces a symlink instead of
following it. One cache directory per user, whatever $HOME says."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest

from pybpf import _cachefile
from pybpf.btf import BTF, Kind
from pybpf.btf import cache as btf_cache
from pybpf.btf.elfsec import btf_sections
from pybpf.cli.build import vmlinux_header

NOBODY = 65534


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(d))
    return d


@pytest.fixture()
def raw(bpf_obj) -> bytes:  # type: ignore[no-untyped-def]
    data, _ = btf_sections(bpf_obj("btf_types").read_bytes())
    assert data is not None
    return data


def _index_file(raw: bytes, cache_dir: Path) -> Path:
    """Build the full index (types and names) for ``raw`` and return its cache file."""
    b = BTF.from_bytes(raw, cache=True)
    b.find("btf_event")  # builds the name offsets ...
    BTF.from_bytes(raw, cache=True).find("btf_event")  # ... then the hashed index
    (path,) = cache_dir.glob("btf-*.idx")
    warm = BTF.from_bytes(raw, cache=True)
    assert warm._name_hashes is not None  # the file is used when nothing is wrong
    return path


def _used(raw: bytes) -> bool:
    return BTF.from_bytes(raw, cache=True)._from_cache


def test_index_of_another_user_is_not_used(raw: bytes, cache_dir: Path) -> None:
    path = _index_file(raw, cache_dir)
    os.chown(path, NOBODY, NOBODY)
    assert btf_cache.load(btf_cache.content_key(raw)) is None
    assert not _used(raw)
    assert path.stat().st_uid == os.geteuid()  # replaced by this user's own index


@pytest.mark.parametrize("mode", [0o620, 0o602])
def test_group_or_other_writable_index_is_not_used(raw: bytes, cache_dir: Path, mode: int) -> None:
    path = _index_file(raw, cache_dir)
    path.chmod(mode)
    assert btf_cache.load(btf_cache.content_key(raw)) is None


def test_cache_directory_of_another_user_is_not_used(raw: bytes, cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o755)
    os.chown(cache_dir, NOBODY, NOBODY)
    assert not _used(raw)
    assert BTF.from_bytes(raw, cache=True).find("btf_event")
    assert list(cache_dir.iterdir()) == []  # nothing written into it either
    cache_dir.chmod(0o777)
    os.chown(cache_dir, os.geteuid(), os.getegid())
    assert not _used(raw) and list(cache_dir.iterdir()) == []  # world-writable: not used


def test_symlinked_index_is_not_followed(raw: bytes, cache_dir: Path, tmp_path: Path) -> None:
    path = _index_file(raw, cache_dir)
    victim = tmp_path / "victim"
    victim.write_bytes(path.read_bytes())  # even a valid index behind a link is refused
    path.unlink()
    path.symlink_to(victim)
    assert btf_cache.load(btf_cache.content_key(raw)) is None
    before = victim.read_bytes()
    assert not _used(raw)  # ... and the save that follows replaces the link itself
    assert not path.is_symlink() and victim.read_bytes() == before


def test_tampered_index_does_not_redirect_a_name(raw: bytes, cache_dir: Path) -> None:
    """Pointing btf_event's entry of the name index at another struct: caught by the
    checksum, so btf_event still resolves to itself."""
    path = _index_file(raw, cache_dir)
    good = BTF.from_bytes(raw, cache=False)
    event, other = good.find_one("btf_event"), good.find_one("btf_packed")
    data = bytearray(path.read_bytes())
    old, new = event.to_bytes(4, "little"), other.to_bytes(4, "little")
    idx = btf_cache.load(btf_cache.content_key(raw))
    assert idx is not None and idx.name_ids is not None
    n = len(idx.name_ids)
    ids_start = len(data) - 4 * n
    pos = data.index(old, ids_start)
    data[pos : pos + 4] = new
    path.write_bytes(bytes(data))
    assert btf_cache.load(btf_cache.content_key(raw)) is None
    b = BTF.from_bytes(raw, cache=True)
    assert not b._from_cache
    assert b.find("btf_event", Kind.STRUCT) == [event]


def test_index_checksum_is_bound_to_the_btf(raw: bytes, cache_dir: Path) -> None:
    """A valid file of another blob, renamed to this blob's name, is refused."""
    path = _index_file(raw, cache_dir)
    size, crc = btf_cache.content_key(raw)
    other = cache_dir / f"btf-{size}-{crc ^ 1:08x}.idx"
    other.write_bytes(path.read_bytes())
    other.chmod(0o600)
    assert btf_cache.load((size, crc ^ 1)) is None


def test_one_cache_directory_per_user_whatever_home_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PYBPF_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "someone-else"))
    mine = Path(pwd.getpwuid(os.geteuid()).pw_dir) / ".cache" / "pybpf"
    assert _cachefile.cache_dir() == mine
    assert btf_cache.cache_dir() == mine


# -- vmlinux.h of `pybpf build` ----------------------------------------------------


@pytest.fixture()
def btf_file(raw: bytes, tmp_path: Path) -> Path:
    """A small BTF file standing in for /sys/kernel/btf/vmlinux (same code path)."""
    p = tmp_path / "btf.bin"
    p.write_bytes(raw)
    return p


def test_vmlinux_header_cached_and_reused(btf_file: Path, cache_dir: Path) -> None:
    out = vmlinux_header(str(btf_file))
    assert cache_dir in out.parents
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "struct btf_event {" in out.read_text()
    mtime = out.stat().st_mtime_ns
    assert vmlinux_header(str(btf_file)) == out and out.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("how", ["foreign", "writable", "tampered", "symlink"])
def test_vmlinux_header_untrusted_is_regenerated(
    btf_file: Path, cache_dir: Path, tmp_path: Path, how: str
) -> None:
    out = vmlinux_header(str(btf_file))
    good = out.read_bytes()
    victim = tmp_path / "victim.h"
    victim.write_text("root-owned file that must not be overwritten\n")
    if how == "foreign":
        out.write_bytes(good.replace(b"struct btf_event {", b"struct btf_evil {"))
        os.chown(out, NOBODY, NOBODY)
    elif how == "writable":
        out.chmod(0o666)
    elif how == "tampered":
        out.write_bytes(good.replace(b"struct btf_event {", b"struct btf_evil {"))
    else:
        out.unlink()
        out.symlink_to(victim)
    again = vmlinux_header(str(btf_file))
    assert again == out and not out.is_symlink()
    assert out.read_bytes() == good and out.stat().st_uid == os.geteuid()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert victim.read_text().startswith("root-owned file")


def test_vmlinux_header_without_a_safe_cache_dir(btf_file: Path, cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o777)
    cache_dir.chmod(0o777)
    out = vmlinux_header(str(btf_file))
    assert cache_dir not in out.parents and out.parent.name.startswith("pybpf-vmlinux-")
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    assert list(cache_dir.iterdir()) == []
    out.unlink()
    out.parent.rmdir()


def _checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the index checksums computed from here on."""
    calls: list[int] = []
    real = btf_cache._checksum

    def counted(head: bytes | memoryview, body: bytes | memoryview) -> bytes:
        calls.append(1)
        return real(head, body)

    monkeypatch.setattr(btf_cache, "_checksum", counted)
    return calls


def _settled_index(raw: bytes, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An index whose check is remembered (as if its file were older than the settle time)."""
    path = _index_file(raw, cache_dir)
    monkeypatch.setattr(btf_cache, "_SETTLE_NS", 0)
    assert btf_cache.load(btf_cache.content_key(raw)) is not None
    assert path.with_name(path.name + ".checked").exists()
    return path


def test_a_checked_index_is_not_checked_again(
    raw: bytes, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled_index(raw, cache_dir, monkeypatch)
    calls = _checks(monkeypatch)
    assert _used(raw) and calls == []  # the same file: its check is remembered


def test_a_fresh_index_is_not_remembered(raw: bytes, cache_dir: Path) -> None:
    path = _index_file(raw, cache_dir)  # written just now: a change could keep its ctime
    assert btf_cache.load(btf_cache.content_key(raw)) is not None
    assert not path.with_name(path.name + ".checked").exists()


def test_an_index_changed_after_its_check_is_checked_again(
    raw: bytes, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changing a byte in place and restoring the mtime still changes the ctime: the
    remembered check no longer applies and the checksum catches the change."""
    import time

    path = _settled_index(raw, cache_dir, monkeypatch)
    st = path.stat()
    time.sleep(0.05)  # past the clock tick of the check
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    with open(path, "r+b") as f:  # same inode, same size
        f.write(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    calls = _checks(monkeypatch)
    assert btf_cache.load(btf_cache.content_key(raw)) is None and calls == [1]


@pytest.mark.parametrize("field", [0, 2])  # the boot id, the inode
def test_a_remembered_check_of_another_boot_or_file_is_not_used(
    raw: bytes, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, field: int
) -> None:
    path = _settled_index(raw, cache_dir, monkeypatch)
    memo = path.with_name(path.name + ".checked")
    words = memo.read_bytes().split(b" ")
    words[field] = b"1" + words[field]
    memo.write_bytes(b" ".join(words))
    calls = _checks(monkeypatch)
    assert _used(raw) and calls == [1]


def test_a_remembered_check_of_another_user_is_not_used(
    raw: bytes, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _settled_index(raw, cache_dir, monkeypatch)
    os.chown(path.with_name(path.name + ".checked"), NOBODY, NOBODY)
    calls = _checks(monkeypatch)
    assert _used(raw) and calls == [1]

"""Pins with ``pin_root``: never a mount inside an existing bpffs or through a symlink,
no pin outside bpffs, a mount only when asked for (``mount_bpffs=True``), pins 0600.
Each test gets a fresh bpffs mounted in a temporary directory (unmounted afterwards)."""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf.errors import UsageError
from pybpf.sys import fs

pytestmark = pytest.mark.usefixtures("kernel")

_libc = ctypes.CDLL(None, use_errno=True)


def _umount(path: Path) -> None:
    if _libc.umount2(os.fsencode(path), 0) != 0:
        raise OSError(ctypes.get_errno(), f"umount {path}")


def _mounts_under(root: Path) -> set[Path]:
    return {p for p in fs.mounts() if p == root or root in p.parents}


@pytest.fixture()
def bpffs(tmp_path: Path) -> Iterator[Path]:
    """A fresh bpffs mounted at tmp_path/bpffs; every mount under tmp_path is undone after."""
    root = tmp_path / "bpffs"
    root.mkdir()
    fs.mount("bpf", root, "mode=0700")
    before = _mounts_under(tmp_path)
    try:
        yield root
        assert _mounts_under(tmp_path) == before, "a test left a mount behind"
    finally:
        for m in sorted(_mounts_under(tmp_path), key=lambda p: len(p.parts), reverse=True):
            _umount(m)


def _load(bpf_obj: Any, **opts: Any) -> pybpf.Object:
    obj = pybpf.open(bpf_obj("maps"), **opts)
    for p in obj.programs.values():
        p.autoload = False
    obj.load()
    return obj


def test_pin_root_inside_bpffs_creates_directories_not_mounts(bpf_obj: Any, bpffs: Path) -> None:
    earlier = bpffs / "earlier"
    with _load(bpf_obj, pin_root=bpffs / "app") as first:
        first.maps["m_pinned"].pin(earlier)  # a pin made before, in the same bpffs
    root = bpffs / "app" / "sub"
    with _load(bpf_obj, pin_root=root) as obj:
        pin = root / "m_pinned"
        assert obj.maps["m_pinned"].pin_path == str(pin)
        assert stat.S_IMODE(os.stat(pin).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
        assert fs.on_bpffs(root) and not os.path.ismount(root)
        assert earlier.exists()  # nothing was mounted over it
        obj.maps["m_pinned"][1] = 2
        with _load(bpf_obj, pin_root=root) as again:  # reused through the pin
            assert again.maps["m_pinned"][1] == 2
    assert (root / "m_pinned").exists()  # pinned by name: it outlives the object, as in libbpf
    os.unlink(root / "m_pinned")


def test_pin_root_through_symlink_is_refused(bpf_obj: Any, bpffs: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(bpffs)
    with pytest.raises(UsageError, match=r"is a symlink"):
        _load(bpf_obj, pin_root=link / "app")
    (bpffs / "real").mkdir()
    (bpffs / "sneaky").symlink_to(bpffs / "real")
    with pytest.raises(UsageError, match=r"sneaky is a symlink"):
        _load(bpf_obj, pin_root=bpffs / "sneaky")
    assert list((bpffs / "real").iterdir()) == []
    assert not (bpffs / "app").exists()


def test_pin_root_off_bpffs_is_refused_without_mount(
    bpf_obj: Any, bpffs: Path, tmp_path: Path
) -> None:
    root = tmp_path / "plain"
    with pytest.raises(UsageError, match=r"is not on a bpffs.*mount_bpffs=True"):
        _load(bpf_obj, pin_root=root)
    with pytest.raises(UsageError, match=r"is not on a bpffs"):
        _load(bpf_obj, pin_root=root, mount_bpffs=False)
    assert not os.path.ismount(root) if root.exists() else True


def test_mount_only_when_asked_and_it_stays(bpf_obj: Any, bpffs: Path, tmp_path: Path) -> None:
    root = tmp_path / "asked"
    with _load(bpf_obj, pin_root=root, mount_bpffs=True) as obj:
        assert os.path.ismount(root) and fs.on_bpffs(root)
        assert os.stat(root).st_mode & 0o777 == 0o700  # not a 1777 directory
        assert stat.S_IMODE(os.stat(root / "m_pinned").st_mode) == 0o600
        del obj
    assert os.path.ismount(root)  # asked for: it stays (the fixture unmounts it)
    _umount(root)


def test_no_mount_over_a_non_empty_directory(bpf_obj: Any, bpffs: Path, tmp_path: Path) -> None:
    root = tmp_path / "busy"
    root.mkdir()
    (root / "file").write_text("hidden by a mount")
    with pytest.raises(UsageError, match=r"not empty"):
        _load(bpf_obj, pin_root=root, mount_bpffs=True)
    assert not os.path.ismount(root)


def test_no_mount_inside_a_bpffs_even_when_asked(bpf_obj: Any, bpffs: Path) -> None:
    root = bpffs / "inner"
    with _load(bpf_obj, pin_root=root, mount_bpffs=True) as obj:
        assert obj.maps["m_pinned"].pin_path == str(root / "m_pinned")
        assert not os.path.ismount(root)


@pytest.mark.parametrize("name", ["../escape", "a/b", ".."])
def test_pin_name_cannot_leave_pin_root(bpffs: Path, name: str) -> None:
    with pytest.raises(UsageError, match=r"leaves the pin root"):
        fs.prepare_pin(os.path.join(bpffs / "root", name), root=bpffs / "root")


def test_explicit_pins_leave_bpffs_or_follow_links_refused(
    bpf_obj: Any, bpffs: Path, tmp_path: Path
) -> None:
    with _load(bpf_obj, pin_root=bpffs) as obj:
        m = obj.maps["m_hash"] if "m_hash" in obj.maps else obj.maps["m_pinned"]
        with pytest.raises(UsageError, match=r"not on a bpffs"):
            m.pin(tmp_path / "elsewhere" / "pin")
        assert not (tmp_path / "elsewhere").exists() or not any((tmp_path / "elsewhere").iterdir())
        (bpffs / "d").mkdir()
        (bpffs / "l").symlink_to(bpffs / "d")
        with pytest.raises(UsageError, match=r"is a symlink"):
            m.pin(bpffs / "l" / "pin")
        assert list((bpffs / "d").iterdir()) == []
        m.pin(bpffs / "x" / "y" / "pin")
        assert stat.S_IMODE(os.stat(bpffs / "x" / "y" / "pin").st_mode) == 0o600
        os.unlink(bpffs / "x" / "y" / "pin")


def test_link_pin_mode_and_refusal(bpf_obj: Any, bpffs: Path, tmp_path: Path) -> None:
    obj = pybpf.open(bpf_obj("cli_run"))
    with obj:
        obj.load()
        link = obj.programs["on_getpgid"].attach()
        with pytest.raises(UsageError, match=r"not on a bpffs"):
            link.pin(tmp_path / "lnk")
        link.pin(bpffs / "links" / "lnk")
        assert stat.S_IMODE(os.stat(bpffs / "links" / "lnk").st_mode) == 0o600
        link.close()
    assert not (bpffs / "links" / "lnk").exists()

"""The shared test helpers of tests/conftest.py do what they promise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.conftest import REQUIRE_KERNEL, leaked_fds, open_fds, skip_unsupported, unsupported_skips

from pybpf.errors import NotSupportedError
from pybpf.sys import fs, kversions, maps, objects
from pybpf.uapi.enums import MapType


def test_tmp_bpffs_is_a_private_empty_bpffs(tmp_bpffs: Path) -> None:
    assert fs.on_bpffs(tmp_bpffs) and os.path.ismount(tmp_bpffs)
    assert {p.name for p in tmp_bpffs.iterdir()} <= {"maps.debug", "progs.debug"}  # bpf_preload
    with maps.map_create(MapType.ARRAY, 4, 4, 1) as fd:
        objects.obj_pin(fd, str(tmp_bpffs / "m"))
    assert (tmp_bpffs / "m").exists()
    assert tmp_bpffs != fs.BPFFS and not (fs.BPFFS / "m").exists()


def test_leaked_fds_names_what_was_left_open() -> None:
    before = open_fds()
    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        assert leaked_fds(before) == {str(fd): "/dev/null"}
    finally:
        os.close(fd)
    assert leaked_fds(before) == {}


def test_unsupported_skips_when_the_kernel_is_older() -> None:
    newer = NotSupportedError("a future feature", min_kernel="99.0")
    outcome = pytest.fail.Exception if REQUIRE_KERNEL else pytest.skip.Exception
    with pytest.raises(outcome, match="a future feature"):
        skip_unsupported(newer)
    with pytest.raises(outcome), unsupported_skips():
        raise newer


def test_unsupported_fails_when_the_kernel_should_have_it() -> None:
    major, minor = kversions.running_version()
    claim = NotSupportedError("ring buffers", min_kernel=f"{major}.{minor}")
    with pytest.raises(pytest.fail.Exception, match=r"is at least .*ring buffers"):
        skip_unsupported(claim)
    with pytest.raises(ValueError):
        skip_unsupported(ValueError("not a NotSupportedError"))

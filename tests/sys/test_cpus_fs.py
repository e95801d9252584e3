"""CPU lists and the bpffs/tracefs mount helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pybpf.sys import cpus, fs


def test_parse_cpu_list() -> None:
    assert cpus.parse_cpu_list("0-3,5,7-8\n") == [0, 1, 2, 3, 5, 7, 8]
    assert cpus.parse_cpu_list("0") == [0]
    with pytest.raises(ValueError):
        cpus.parse_cpu_list("3-1")
    with pytest.raises(ValueError):
        cpus.parse_cpu_list("a-b")


def test_cpu_sets_match_the_system() -> None:
    online = cpus.online_cpus()
    assert len(online) == len(os.sched_getaffinity(0)) or set(os.sched_getaffinity(0)) <= set(
        online
    )
    assert set(online) <= set(cpus.possible_cpus())
    assert cpus.num_possible_cpus() == len(cpus.possible_cpus())  # the kernel's count


@pytest.mark.usefixtures("kernel")
def test_bpffs_and_tracefs_are_mounted_on_demand() -> None:
    root = fs.ensure_bpffs()
    assert root == Path("/sys/fs/bpf")
    assert fs.mounts()[root] == "bpf"
    assert fs.ensure_bpffs() == root  # idempotent
    tr = fs.ensure_tracefs()
    assert (tr / "events").is_dir()
    assert fs.mounts()[tr] == "tracefs"


@pytest.mark.usefixtures("kernel")
def test_tracefs_root_agrees_with_the_mount_table() -> None:
    """The statfs shortcut finds the tracefs the mount table names (and nothing else)."""
    root = fs.ensure_tracefs()
    assert fs.tracefs_root(mount=False) == root and fs.mounts()[root] == "tracefs"
    assert fs.fs_magic(root) == fs.TRACEFS_MAGIC
    assert fs.fs_magic(root.parent) != fs.TRACEFS_MAGIC  # sysfs or debugfs around it

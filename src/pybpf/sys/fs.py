"""bpffs and tracefs: find them, and mount them where they belong when absent."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from pybpf.errors import KernelError
from pybpf.sys._ffi import libc

__all__ = [
    "BPFFS",
    "TRACEFS_PATHS",
    "ensure_bpffs",
    "ensure_tracefs",
    "mount",
    "mounts",
    "tracefs_root",
]

BPFFS = Path("/sys/fs/bpf")
TRACEFS_PATHS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
_DEBUGFS = Path("/sys/kernel/debug")


def mounts() -> dict[Path, str]:
    """Mount points of this mount namespace and their filesystem types."""
    out: dict[Path, str] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            if len(fields) >= 5 and right:
                point = fields[4].encode().decode("unicode_escape")
                out[Path(point)] = right.split()[0]
    return out


def mount(fstype: str, target: Path | str) -> None:
    """mount(2) a ``fstype`` filesystem (bpf, tracefs, debugfs, cgroup2) at ``target``."""
    res = libc.mount(fstype.encode(), str(target).encode(), fstype.encode(), 0, None)
    if res != 0:
        err = ctypes.get_errno()
        raise KernelError(
            f"mount {fstype} at {target}",
            err,
            hint=f"mount it yourself: mount -t {fstype} {fstype} {target}",
        )


_mount = mount  # tracefs_root's ``mount`` flag shadows the function there


def ensure_bpffs(path: Path | str = BPFFS) -> Path:
    """Return ``path`` after making sure a bpffs is mounted there (mounting it if needed)."""
    target = Path(path)
    if mounts().get(target) == "bpf":
        return target
    target.mkdir(parents=True, exist_ok=True)
    mount("bpf", target)
    return target


def tracefs_root(*, mount: bool = True) -> Path | None:
    """The tracefs directory; with ``mount``, mount it at /sys/kernel/tracing if absent."""
    table = mounts()
    for path in TRACEFS_PATHS:
        if table.get(path) == "tracefs":
            return path
    if not mount:
        return None
    for path in TRACEFS_PATHS:
        if path.is_dir() and not os.path.ismount(path):
            try:
                _mount("tracefs", path)
            except KernelError:
                continue
            return path
    if _DEBUGFS.is_dir() and table.get(_DEBUGFS) != "debugfs":
        try:
            _mount("debugfs", _DEBUGFS)  # debugfs auto-mounts tracefs below it
        except KernelError:
            return None
        if (TRACEFS_PATHS[1] / "events").is_dir():
            return TRACEFS_PATHS[1]
    return None


def ensure_tracefs() -> Path:
    """The tracefs directory, mounting it if absent; raises if that is not possible."""
    root = tracefs_root()
    if root is None:
        raise KernelError(
            "find tracefs",
            2,
            "not mounted and cannot be mounted",
            hint="mount -t tracefs tracefs /sys/kernel/tracing (needs root)",
        )
    return root

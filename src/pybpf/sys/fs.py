"""bpffs and tracefs: find them, and mount them where they belong when absent.

Pins go only on a bpffs, through real directories: :func:`prepare_pin` refuses a pin
path that goes through a symlink or ends outside bpffs, creates missing directories
(0700) inside an existing bpffs, and mounts a new bpffs only where nothing is mounted
and only when asked (``mount=True``; the system location /sys/fs/bpf is mounted when
empty, as bpftool does). A mount made on request stays after the process exits.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from pybpf.errors import KernelError, UsageError
from pybpf.sys._ffi import libc

__all__ = [
    "BPFFS",
    "BPF_FS_MAGIC",
    "TRACEFS_MAGIC",
    "TRACEFS_PATHS",
    "ensure_bpffs",
    "ensure_tracefs",
    "fs_magic",
    "mount",
    "mounts",
    "on_bpffs",
    "prepare_pin",
    "tracefs_root",
]

BPFFS = Path("/sys/fs/bpf")
TRACEFS_PATHS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
_DEBUGFS = Path("/sys/kernel/debug")
BPF_FS_MAGIC = 0xCAFE4A11
TRACEFS_MAGIC = 0x74726163


def mounts() -> dict[Path, str]:
    """Mount points of this mount namespace and their filesystem types."""
    out: dict[Path, str] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            if len(fields) >= 5 and right:
                point = fields[4]
                if "\\" in point:  # octal escapes (\040 for a space)
                    point = point.encode().decode("unicode_escape")
                out[Path(point)] = right.split()[0]
    return out


def fs_magic(path: Path | str) -> int:
    """statfs(2) ``f_type`` of the filesystem holding ``path`` (follows a final symlink)."""
    buf = ctypes.create_string_buffer(256)  # struct statfs: f_type is the first long
    if libc.statfs(os.fsencode(path), buf) != 0:
        err = ctypes.get_errno()
        raise KernelError(f"statfs {path}", err)
    return int.from_bytes(buf.raw[:8], "little", signed=True) & 0xFFFFFFFF


def on_bpffs(path: Path | str) -> bool:
    """Whether ``path`` (an existing directory or file) lies on a bpffs."""
    try:
        return fs_magic(path) == BPF_FS_MAGIC
    except KernelError:
        return False


def _no_symlinks(path: Path, what: str) -> Path | None:
    """Check that no existing component of absolute ``path`` is a symlink; return the
    deepest existing directory (None if even / is missing, which cannot happen)."""
    cur = Path("/")
    deepest: Path | None = cur
    for part in path.parts[1:]:
        cur = cur / part
        if not os.path.lexists(cur):
            break
        if os.path.islink(cur):
            raise UsageError(
                f"{what} {path}: {cur} is a symlink; pins and bpffs mounts must use a real "
                "directory path (resolve the link yourself if you trust it)"
            )
        if not os.path.isdir(cur) and cur != path:
            raise UsageError(f"{what} {path}: {cur} is not a directory")
        deepest = cur
    return deepest


def prepare_pin(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    mount: bool | None = None,
) -> Path:
    """Check a pin path and make its directory ready; returns the normalized path.

    The path must not go through a symlink nor leave ``root`` (when given) and its
    directory must be on a bpffs: missing directories are created (0700) inside an
    existing bpffs. When the nearest existing directory is not on a bpffs, a new bpffs
    is mounted on the pin's directory only if ``mount`` is true (or, with ``mount`` None,
    at the empty system location /sys/fs/bpf); never inside an existing bpffs.

    Example: ``prepare_pin("/sys/fs/bpf/myapp/counts")`` -> Path("/sys/fs/bpf/myapp/counts")
    """
    p = Path(os.path.normpath(os.path.abspath(os.fspath(path))))
    if root is not None:
        r = Path(os.path.normpath(os.path.abspath(os.fspath(root))))
        if p.parent != r:
            raise UsageError(
                f"pin path {path} leaves the pin root {r}: a pinned name must be a plain "
                "file name (no '/', no '..')"
            )
    parent = p.parent
    deepest = _no_symlinks(p, "pin path")
    assert deepest is not None
    if deepest == p:  # the pin itself exists: its directory exists too
        deepest = parent
    if on_bpffs(deepest):
        _make_dirs(parent, deepest)
        return p
    if not _mountable(parent, deepest, mount):
        have = mounts_fstype(deepest)
        raise UsageError(
            f"pin path {p} is not on a bpffs ({deepest} is on {have}): pin under a mounted "
            f"bpffs such as {BPFFS}, mount one yourself (mount -t bpf bpf {parent}), or pass "
            "mount_bpffs=True to let pybpf mount it there (the mount then stays)"
        )
    _make_dirs(parent, deepest)
    _mount_bpffs(parent)
    return p


def mounts_fstype(path: Path) -> str:
    """The type of the filesystem holding ``path``, from the longest mount-point prefix."""
    table = mounts()
    for cand in (path, *path.parents):
        if cand in table:
            return table[cand]
    return "unknown"


def _mountable(target: Path, deepest: Path, mount: bool | None) -> bool:
    if mount:
        return True
    return mount is None and target == BPFFS and deepest == BPFFS and not os.path.ismount(BPFFS)


def _make_dirs(parent: Path, deepest: Path) -> None:
    """Create the directories from ``deepest`` down to ``parent`` (0700), never through a
    symlink a concurrent process could plant (mkdir fails on any existing entry)."""
    todo = [d for d in (parent, *parent.parents) if deepest in d.parents]
    for d in reversed(todo):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError as exc:
            if os.path.islink(d) or not os.path.isdir(d):
                raise UsageError(f"pin directory {d} appeared as a symlink or file") from exc


def _mount_bpffs(target: Path) -> None:
    """Mount a private (0700) bpffs on ``target``: an existing directory, not a symlink,
    not inside a bpffs, with nothing mounted on it."""
    if os.path.islink(target) or not os.path.isdir(target):
        raise UsageError(f"cannot mount a bpffs at {target}: not a real directory")
    if on_bpffs(target) or os.path.ismount(target):
        raise UsageError(
            f"cannot mount a bpffs at {target}: something is mounted there already "
            "(or it is inside a bpffs); pin there directly or pick an empty directory"
        )
    if os.listdir(target):
        raise UsageError(
            f"cannot mount a bpffs at {target}: the directory is not empty and a mount would "
            "hide its files; pick an empty directory"
        )
    mount("bpf", target, "mode=0700")


def mount(fstype: str, target: Path | str, data: str | None = None) -> None:
    """mount(2) a ``fstype`` filesystem (bpf, tracefs, debugfs, cgroup2) at ``target``;
    ``data`` are its options (``mode=0700``)."""
    opts = data.encode() if data else None
    res = libc.mount(fstype.encode(), str(target).encode(), fstype.encode(), 0, opts)
    if res != 0:
        err = ctypes.get_errno()
        raise KernelError(
            f"mount {fstype} at {target}",
            err,
            hint=f"mount it yourself: mount -t {fstype} {fstype} {target}",
        )


_mount = mount  # tracefs_root's ``mount`` flag shadows the function there


def ensure_bpffs(path: Path | str = BPFFS, *, mount: bool | None = None) -> Path:
    """Return directory ``path`` after making sure it lies on a bpffs (see
    :func:`prepare_pin` for when a bpffs is mounted, and where never)."""
    return prepare_pin(Path(path) / "_", mount=mount).parent


def tracefs_root(*, mount: bool = True) -> Path | None:
    """The tracefs directory; with ``mount``, mount it at /sys/kernel/tracing if absent."""
    try:  # the usual case in two system calls, without parsing the mount table
        first = TRACEFS_PATHS[0]
        if fs_magic(first) == TRACEFS_MAGIC and os.path.ismount(first):
            return first
    except KernelError:
        pass
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

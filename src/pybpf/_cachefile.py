"""Cache files that another user cannot plant, redirect or swap.

One cache directory per effective user: ``$PYBPF_CACHE_DIR`` (empty: no cache), else
``$XDG_CACHE_HOME/pybpf``, else ``~/.cache/pybpf`` of the effective user's passwd
entry (not ``$HOME``, which under sudo may be another user's). A directory or file is
used only when it is owned by the effective user and not writable by group or others;
files are opened with ``O_NOFOLLOW`` and written to a ``mkstemp`` file in the same
directory, then renamed over the old one (a symlink there is replaced, not followed).
What a file holds is validated by its reader (a checksum bound to its source).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
from pathlib import Path

try:  # the BLAKE2 module itself: ``hashlib`` would also load OpenSSL (~2 ms at import)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

__all__ = ["blake2b", "boot_id", "cache_dir", "read", "read_stat", "safe_dir", "write"]


def _home() -> Path | None:
    try:
        return Path(pwd.getpwuid(os.geteuid()).pw_dir)
    except KeyError:
        return None


def cache_dir() -> Path | None:
    """This user's pybpf cache directory (not created), or None when caching is off."""
    env = os.environ.get("PYBPF_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "pybpf"
    home = _home()
    return home / ".cache" / "pybpf" if home is not None else None


def boot_id() -> str | None:
    """This boot's id (``/proc/sys/kernel/random/boot_id``), for files valid until reboot;
    None when unreadable or not the expected hex-and-dashes text."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            text = f.read(64).strip().decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    return text if text and text.replace("-", "").isalnum() else None


def _trusted(st: os.stat_result) -> bool:
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def safe_dir(path: Path) -> bool:
    """Create ``path`` (0700) if missing; True when it is a real directory (not a
    symlink) owned by this user and not writable by group or others."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and _trusted(st)


def read(path: Path) -> bytearray | None:
    """The bytes of cache file ``path`` if it is a regular file of this user, not
    group/other-writable, in a directory that passes :func:`safe_dir`; else None."""
    got = read_stat(path)
    return got[0] if got is not None else None


def read_stat(path: Path) -> tuple[bytearray, os.stat_result] | None:
    """:func:`read`, with the ``fstat`` of the file read (the same before and after
    reading it: a file written meanwhile is not returned)."""
    try:
        st = os.lstat(path.parent)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or not _trusted(st):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _trusted(st):
            return None
        data = bytearray(st.st_size)
        with os.fdopen(fd, "rb", closefd=False) as f:
            n = f.readinto(data)
        after = os.fstat(fd)  # changed while read (a write sets the ctime): not used
        if n != st.st_size or (after.st_ctime_ns, after.st_size) != (st.st_ctime_ns, n):
            return None
        return data, st
    except OSError:
        return None
    finally:
        os.close(fd)


def write(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically (mkstemp in its directory, then rename);
    False, leaving nothing behind, when the directory is not safe or on any error."""
    if not safe_dir(path.parent):
        return False
    import tempfile  # only when writing: keeps the import of readers light

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False

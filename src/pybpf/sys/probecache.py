"""Feature-probe answers kept per boot, so that a process does not re-ask the kernel.

A probe's answer (does this kernel know BTF_KIND_FLOAT, program names, ...) cannot change
until reboot. The answers live in one file of this user's cache directory (see
:mod:`pybpf._cachefile`: owned by the user, not group/other-writable, no symlinks),
named by the boot id and the process's effective capabilities, and bound inside to the
boot id, kernel release and capabilities with a CRC32 over the answers; any mismatch,
corruption or unsafe file means the kernel is asked again.

Only a fully privileged process (:func:`pybpf.sys.syscall.privileged`) reads or writes
it, so an answer shaped by missing privileges (EPERM/EACCES) is never stored or reused.
Example: ``per_boot(lambda: probe())`` is what ``@per_boot`` does for a probe function.
"""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

__all__ = ["lookup", "per_boot"]

P = ParamSpec("P")
_MAGIC = b"pybpf-features"
_VERSION = 1

# (cache dir setting, file path or None, header, answers) of this process
_state: tuple[str | None, Path | None, bytes, dict[str, bool]] | None = None


def _header(boot: str, caps: int) -> bytes:
    release = "_".join(os.uname().release.split()) or "-"
    return b"%s %d %s %s %x" % (_MAGIC, _VERSION, boot.encode(), release.encode(), caps)


def _parse(data: bytes, header: bytes) -> dict[str, bool] | None:
    """The answers in ``data`` if it is intact and made for ``header``; else None."""
    head, sep, body = data.partition(b"\n")
    want, _, crc = head.rpartition(b" ")
    if not sep or want != header or crc != b"%08x" % zlib.crc32(body):
        return None
    answers: dict[str, bool] = {}
    for line in body.splitlines():
        key, eq, value = line.partition(b"=")
        if not eq or not key or value not in (b"0", b"1"):
            return None
        answers[key.decode("ascii", "replace")] = value == b"1"
    return answers


def _load() -> tuple[str | None, Path | None, bytes, dict[str, bool]]:
    global _state
    setting = os.environ.get("PYBPF_CACHE_DIR")
    if _state is not None and _state[0] == setting:
        return _state
    from pybpf import _cachefile
    from pybpf.sys import syscall

    path, header, answers = None, b"", {}
    boot, d = _cachefile.boot_id(), _cachefile.cache_dir()
    if boot is not None and d is not None and syscall.privileged():
        caps = syscall.effective_caps()
        path, header = d / f"features-{boot}-{caps:x}", _header(boot, caps)
        data = _cachefile.read(path)
        answers = (_parse(bytes(data), header) if data is not None else None) or {}
    _state = (setting, path, header, answers)
    return _state


def lookup(key: str, probe: Callable[[], bool]) -> bool:
    """The answer stored for ``key`` this boot, else ``probe()`` (stored when privileged)."""
    _setting, path, header, answers = _load()
    if key in answers:
        return answers[key]
    answer = bool(probe())
    if path is None:
        return answer
    from pybpf.sys import syscall

    if not syscall.privileged():  # privileges dropped since: the answer may reflect it
        return answer
    answers[key] = answer
    body = b"".join(b"%s=%d\n" % (k.encode(), v) for k, v in sorted(answers.items()))
    from pybpf import _cachefile

    _cachefile.write(path, header + b" %08x\n" % zlib.crc32(body) + body)  # else: slower only
    return answer


def per_boot(fn: Callable[P, bool]) -> Callable[P, bool]:
    """Decorate a probe so its answer is kept per boot (key: its name and int arguments)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> bool:
        if kwargs or not all(isinstance(a, int) for a in args):
            return fn(*args, **kwargs)
        key = fn.__name__ + "".join(f":{a:d}" for a in args if isinstance(a, int))
        return lookup(key, lambda: fn(*args, **kwargs))

    return wrapper

"""CO-RE results of the running kernel, kept per boot so a later process skips the work.

Relocating a program's CO-RE records needs the kernel's BTF (about 5 ms to read and
index) and the CO-RE resolver (six modules to import); the answer depends only on the
program's instructions, the object's BTF, the records and the kernel's BTF, which
cannot change until reboot. So a program relocated once this boot is answered from a
small per-user file (``core-<boot id>.bin`` in the cache directory, see
``pybpf._cachefile``) whose key hashes all of those inputs.

Only answers that are sure to stay right until reboot are kept: every record resolved
in vmlinux (a record resolved in a module's BTF, or found nowhere, could change when
a module is loaded). Records of kind ``type_id_local`` need no target and are kept.

Example::

    cache = CoreCache.for_identity("3f0c...:6.18.0:5515852")
    hit = cache.get(key)
"""

from __future__ import annotations

import marshal
from typing import Any

from pybpf import _cachefile

__all__ = ["CoreCache", "core_key"]

_VERSION = b"pybpf-core-cache-1"
_MAX_ENTRIES = 2048

#: one cache per identity per process (objects loaded in one process share it)
_OPEN: dict[str, CoreCache] = {}


#: the modules whose code computes an answer: an edited one (a new release, a developer's
#: change) must not be answered by what the old code computed
_CODE = (
    "asm/insn.py",
    "btf/core",
    "btf/coreresult.py",
    "btf/ext.py",
    "btf/reader.py",
    "btf/types.py",
    "plan/corecache.py",
    "plan/planner.py",
)
_code_id: bytes | None = None


def _code_identity() -> bytes:
    """Name, size and mtime of each file of :data:`_CODE` (stat calls only)."""
    global _code_id
    if _code_id is None:
        import os

        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        parts: list[str] = []
        for rel in _CODE:
            path = os.path.join(root, rel)
            try:
                if os.path.isdir(path):
                    with os.scandir(path) as it:
                        entries = sorted((e.name, e.stat()) for e in it if e.name.endswith(".py"))
                else:
                    entries = [(rel, os.stat(path))]
            except OSError:
                entries = []
            parts += [f"{rel}/{n}:{st.st_size}:{st.st_mtime_ns}" for n, st in entries]
        _code_id = "\n".join(parts).encode()
    return _code_id


def core_key(identity: str, btf: bytes, insns: bytes, section: str, relos: Any) -> str:
    """The cache key of one program's CO-RE relocation: a hash of everything it reads
    (the kernel's identity, the object's BTF, the instructions, the records, the code)."""
    h = _cachefile.blake2b(digest_size=20)
    for part in (_VERSION, _code_identity(), identity.encode(), section.encode(), btf, insns):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    for r in relos:
        h.update(repr((r.insn_off, r.type_id, r.access_str, int(r.kind))).encode())
    return h.hexdigest()


class CoreCache:
    """The stored CO-RE answers of one kernel identity (boot): key → marshalled record."""

    def __init__(self, identity: str, entries: dict[str, bytes]) -> None:
        self.identity = identity
        self._entries = entries
        self._new: dict[str, bytes] = {}

    @classmethod
    def for_identity(cls, identity: str) -> CoreCache:
        """The cache of ``identity`` (read from the cache file once per process)."""
        cache = _OPEN.get(identity)
        if cache is None:
            cache = _OPEN[identity] = cls(identity, _read(identity))
        return cache

    def get(self, key: str) -> tuple[bytes, list[tuple[Any, ...]]] | None:
        """The relocated code and result rows stored under ``key``, else None."""
        blob = self._entries.get(key)
        if blob is None:
            return None
        try:
            value = marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            return None
        if (
            not isinstance(value, tuple)
            or len(value) != 2
            or not isinstance(value[0], bytes)
            or not isinstance(value[1], list)
        ):
            return None
        return value[0], value[1]

    def put(self, key: str, code: bytes, rows: list[tuple[Any, ...]]) -> None:
        """Remember one program's answer (written by :meth:`flush`)."""
        self._new[key] = self._entries[key] = marshal.dumps((code, rows))

    def flush(self) -> None:
        """Write the answers remembered since the last flush, merged with what another
        process may have written meanwhile (a cache that cannot be written is skipped)."""
        if not self._new:
            return
        path = _path(self.identity)
        if path is not None:
            merged = _read(self.identity)
            if len(merged) + len(self._new) > _MAX_ENTRIES:
                merged = {}
            merged.update(self._new)
            if _cachefile.write(path, marshal.dumps((self.identity, merged))):
                _drop_other_boots(path)
        self._new.clear()


def _path(identity: str) -> Any:
    base = _cachefile.cache_dir()
    if base is None:
        return None
    boot = identity.split(":", 1)[0]
    return base / f"core-{boot}.bin"


def _drop_other_boots(path: Any) -> None:
    """Remove the CO-RE files of earlier boots (they can never be read again)."""
    import contextlib
    import os

    with contextlib.suppress(OSError), os.scandir(path.parent) as it:
        for entry in it:
            name = entry.name
            if name.startswith("core-") and name.endswith(".bin") and name != path.name:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _read(identity: str) -> dict[str, bytes]:
    """The file's entries for ``identity`` (empty when absent, foreign or damaged)."""
    path = _path(identity)
    data = _cachefile.read(path) if path is not None else None
    if data is None:
        return {}
    try:
        stored = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(stored, tuple) or len(stored) != 2 or stored[0] != identity:
        return {}
    table = stored[1]
    if not isinstance(table, dict):
        return {}
    return {k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, bytes)}

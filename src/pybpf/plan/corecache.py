"""CO-RE results of the running kernel, kept per boot so a later process skips the work.

Relocating a program's CO-RE records needs the kernel's BTF (about 5 ms to read and
index) and the CO-RE resolver (six modules to import); the answer depends only on the
program's instructions, the object's BTF, the records and the kernel's BTF, which
cannot change until reboot. So a program relocated once this boot is answered from a
small per-user file per object (``core-<boot id>-<BTF hash>.bin`` in the cache
directory, see ``pybpf._cachefile``), under a key that hashes all of those inputs.

Only answers that are sure to stay right until reboot are kept: every record resolved
in vmlinux (a record resolved in a module's BTF, or found nowhere, could change when
a module is loaded). Records of kind ``type_id_local`` need no target and are kept.

Example::

    cache = CoreCache.for_object("3f0c...:6.18.0:5515852", spec.btf.data)
    hit = cache.get(cache.key(prog.insns, prog.section, prog.core_relos))
"""

from __future__ import annotations

import marshal
from typing import Any

from pybpf import _cachefile

__all__ = ["CoreCache", "core_key"]

_VERSION = b"pybpf-core-cache-1"
_MAX_ENTRIES = 1024  # programs of one object

#: the caches read in this process, by (kernel identity, object BTF hash)
_OPEN: dict[tuple[str, bytes], CoreCache] = {}


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
    return _key(identity, _cachefile.blake2b(btf, digest_size=20).digest(), insns, section, relos)


def _key(identity: str, btf_hash: bytes, insns: bytes, section: str, relos: Any) -> str:
    h = _cachefile.blake2b(digest_size=20)
    for part in (_VERSION, _code_identity(), identity.encode(), btf_hash, section.encode(), insns):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    for r in relos:
        h.update(repr((r.insn_off, r.type_id, r.access_str, int(r.kind))).encode())
    return h.hexdigest()


class CoreCache:
    """The stored CO-RE answers for one object's BTF on one kernel identity (boot), in
    one small file per object: key → marshalled answer."""

    def __init__(self, identity: str, btf_hash: bytes) -> None:
        self.identity = identity
        self.btf_hash = btf_hash
        self.path = _path(identity, btf_hash)
        self._entries = _read(self.path, identity)
        self._new: dict[str, bytes] = {}

    @classmethod
    def for_object(cls, identity: str, btf: bytes) -> CoreCache:
        """The cache of the object whose BTF is ``btf`` (its file read once per process)."""
        btf_hash = _cachefile.blake2b(btf, digest_size=20).digest()
        cache = _OPEN.get((identity, btf_hash))
        if cache is None:
            cache = _OPEN[identity, btf_hash] = cls(identity, btf_hash)
        return cache

    def key(self, insns: bytes, section: str, relos: Any) -> str:
        """The key of one program of this object (see :func:`core_key`)."""
        return _key(self.identity, self.btf_hash, insns, section, relos)

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
        if self.path is not None:
            merged = _read(self.path, self.identity)
            if len(merged) + len(self._new) > _MAX_ENTRIES:
                merged = {}
            merged.update(self._new)
            if _cachefile.write(self.path, marshal.dumps((self.identity, merged))):
                _drop_other_boots(self.path, self.identity)
        self._new.clear()


def _boot(identity: str) -> str:
    return identity.split(":", 1)[0]


def _path(identity: str, btf_hash: bytes) -> Any:
    base = _cachefile.cache_dir()
    if base is None:
        return None
    return base / f"core-{_boot(identity)}-{btf_hash[:8].hex()}.bin"


def _drop_other_boots(path: Any, identity: str) -> None:
    """Remove the CO-RE files of earlier boots (they can never be read again)."""
    import contextlib
    import os

    mine = f"core-{_boot(identity)}-"
    with contextlib.suppress(OSError), os.scandir(path.parent) as it:
        for entry in it:
            name = entry.name
            if name.startswith("core-") and name.endswith(".bin") and not name.startswith(mine):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _read(path: Any, identity: str) -> dict[str, bytes]:
    """The file's entries for ``identity`` (empty when absent, foreign or damaged)."""
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

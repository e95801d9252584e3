"""What a piece of test code leaves behind, counting only what this process made.

:class:`Leftovers` records the kernel objects (maps, programs, links, BTF) created
through pybpf's bpf(2) choke point while it is active, by their ids, and snapshots this
process's fds, its tracefs probe entries, the mounts and the pins under given
directories. :meth:`Leftovers.check` then asserts that all of them are back: other
processes loading BPF at the same time cannot make it fail.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["Leftovers"]

_KINDS = {0: "map", 5: "prog", 17: "link", 18: "btf", 28: "link"}  # creating commands


class Leftovers:
    """``with Leftovers(pins=[dir]) as lo: ...; lo.check()``"""

    def __init__(self, pins: list[Path] | None = None) -> None:
        self.pin_dirs = list(pins or [])
        # where a mount left behind would matter (the whole table changes with other
        # processes' network namespaces and containers)
        self.mount_roots = [Path("/sys"), *(d.parent for d in self.pin_dirs)]
        self.created: dict[str, set[int]] = {k: set() for k in set(_KINDS.values())}
        self._real: Any = None
        self.errors: list[str] = []

    def _snapshot(self) -> dict[str, object]:
        from pybpf.kernel import tracefs
        from pybpf.sys import fs

        mine = f"pybpf/pybpf_{os.getpid()}_"
        probes = [
            e
            for kind in ("kprobe", "uprobe")
            for e in tracefs.probe_event_names(kind)
            if e.startswith(mine)
        ]
        return {
            "fds": sorted(os.listdir("/proc/self/fd"), key=int),
            "mounts": sorted(
                str(m)
                for m in fs.mounts()
                if any(m == r or r in m.parents for r in self.mount_roots)
            ),
            "tracefs probes": probes,
            "pins": sorted(str(p) for d in self.pin_dirs if d.exists() for p in d.rglob("*")),
        }

    def __enter__(self) -> Leftovers:
        from pybpf.sys import info, syscall

        gc.collect()
        self.before = self._snapshot()
        real = self._real = syscall.bpf
        getters = {"map": info.map_info, "prog": info.prog_info, "link": info.link_info}
        getters["btf"] = info.btf_info
        busy = False

        def recording(cmd: Any, attr: Any, *args: Any, **kw: Any) -> int:
            nonlocal busy
            fd = int(real(cmd, attr, *args, **kw))
            kind = _KINDS.get(int(cmd))
            if kind is not None and not busy:
                busy = True
                try:
                    self.created[kind].add(int(getters[kind](fd).id))
                except Exception as exc:  # the caller still gets its fd; check() reports this
                    self.errors.append(f"{kind} info of fd {fd} failed: {exc}")
                finally:
                    busy = False
            return fd

        syscall.bpf = recording
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        from pybpf.sys import syscall

        syscall.bpf = self._real

    def alive(self) -> dict[str, set[int]]:
        """Created objects the kernel still has."""
        from pybpf.sys import objects

        return {k: ids & set(objects.ids(k)) for k, ids in self.created.items() if ids}

    def check(self, timeout: float = 10.0) -> None:
        """Assert nothing is left: same fds, mounts, probes and pins; every kernel object
        created meanwhile freed (the kernel frees them after an RCU grace period)."""
        assert not self.errors, "; ".join(self.errors)
        gc.collect()
        after = self._snapshot()
        for key, value in self.before.items():
            extra = ""
            if key == "fds" and after[key] != value:
                extra = f" (now: {_fd_targets(set(os.listdir('/proc/self/fd')))})"
            assert after[key] == value, (
                f"{key} left behind: before {value}, after {after[key]}{extra}"
            )
        deadline = time.monotonic() + timeout
        while any(self.alive().values()):
            assert time.monotonic() < deadline, f"kernel objects left behind: {self.alive()}"
            time.sleep(0.1)


def _fd_targets(fds: set[str]) -> dict[str, str]:
    """What each fd points at (``anon_inode:bpf-map``, ``socket:[...]``), for the message."""
    out: dict[str, str] = {}
    for fd in sorted(fds, key=int):
        try:
            out[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError as exc:
            out[fd] = f"? ({exc.strerror})"
    return out

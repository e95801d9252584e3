"""tracefs: tracepoint ids and the probe entries pybpf creates in ``{k,u}probe_events``.

Probe entries are named ``pybpf_<pid>_<n>_<what>`` in the ``pybpf`` group so each
process only ever removes its own (unlike loaders that wipe the whole file); entries
left behind by a pybpf process that died are reclaimed when the next one adds one.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import threading
from pathlib import Path

from pybpf.errors import KernelError, NotSupportedError
from pybpf.sys.perf import tracepoint_id

__all__ = [
    "PROBE_GROUP",
    "ProbeEvent",
    "add_probe_event",
    "list_tracepoints",
    "probe_event_names",
    "remove_probe_event",
    "root",
    "tracepoint_id",
]

PROBE_GROUP = "pybpf"
_MAX_EVENT_NAME = 63  # MAX_EVENT_NAME_LEN (64) including the NUL
_counter = itertools.count()
_lock = threading.Lock()


def root() -> Path:
    """The tracefs directory, mounted at /sys/kernel/tracing first if absent and permitted."""
    from pybpf.sys.fs import ensure_tracefs

    return ensure_tracefs()


def list_tracepoints(category: str | None = None) -> list[str]:
    """``category:name`` of every tracepoint (of one category when given)."""
    events = root() / "events"
    cats = [category] if category else sorted(p.name for p in events.iterdir() if p.is_dir())
    out: list[str] = []
    for cat in cats:
        d = events / cat
        if d.is_dir():
            out.extend(f"{cat}:{p.name}" for p in sorted(d.iterdir()) if (p / "id").exists())
    return out


class ProbeEvent:
    """A kprobe/uprobe entry this process created in tracefs; :meth:`remove` deletes it."""

    def __init__(self, kind: str, name: str, definition: str) -> None:
        self.kind = kind  # "kprobe" or "uprobe"
        self.group = PROBE_GROUP
        self.name = name
        self.definition = definition
        self.removed = False

    @property
    def event_id(self) -> int:
        """The perf tracepoint id of the entry."""
        return tracepoint_id(self.group, self.name)

    def remove(self) -> None:
        """Delete the entry (idempotent); only once no perf event uses it."""
        if self.removed:
            return
        remove_probe_event(self.kind, self.name)
        self.removed = True

    def __repr__(self) -> str:
        return f"<ProbeEvent {self.kind} {self.group}/{self.name}>"


def _events_file(kind: str) -> Path:
    if kind not in ("kprobe", "uprobe"):
        raise ValueError(f"probe kind must be 'kprobe' or 'uprobe', not {kind!r}")
    path = root() / f"{kind}_events"
    if not path.exists():
        config = "CONFIG_KPROBE_EVENTS" if kind == "kprobe" else "CONFIG_UPROBE_EVENTS"
        raise NotSupportedError(
            f"{kind} events in tracefs ({path})", f"the kernel was built without {config}"
        )
    return path


def _sanitize(what: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", what)


def probe_event_names(kind: str) -> list[str]:
    """``group/name`` of every entry in ``{kind}_events`` (everyone's, read-only)."""
    path = root() / f"{kind}_events"
    if not path.exists():
        return []
    out: list[str] = []
    for line in path.read_text().splitlines():
        head = line.split(maxsplit=1)[0] if line.strip() else ""
        if ":" in head:
            out.append(head.split(":", 1)[1])
    return out


def _write(path: Path, text: str, what: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as exc:
        raise KernelError(f"open {path}", exc.errno or errno.EIO) from exc
    try:
        os.write(fd, text.encode())
    except OSError as exc:
        raise KernelError(
            what, exc.errno or errno.EIO, f"wrote {text.strip()!r} to {path}"
        ) from exc
    finally:
        os.close(fd)


def add_probe_event(kind: str, what: str, target: str, *, retprobe: bool = False) -> ProbeEvent:
    """Create ``p:pybpf/pybpf_<pid>_<n>_<what> <target>`` (``r:`` for a return probe).

    ``target`` is the probe location as tracefs takes it: ``func+off`` for a kprobe,
    ``/path:0xoffset[(0xref_ctr)]`` for a uprobe.
    """
    path = _events_file(kind)
    with _lock:
        _reclaim_dead(kind)
        n = next(_counter)
        name = f"pybpf_{os.getpid()}_{n}_{_sanitize(what)}"[:_MAX_EVENT_NAME]
        definition = f"{'r' if retprobe else 'p'}:{PROBE_GROUP}/{name} {target}"
        _write(path, definition + "\n", f"add {kind} {what!r}")
    return ProbeEvent(kind, name, definition)


def remove_probe_event(kind: str, name: str) -> None:
    """Remove entry ``pybpf/<name>`` from ``{kind}_events`` (never anyone else's)."""
    if not name.startswith("pybpf_"):
        raise ValueError(f"refusing to remove probe entry {name!r}: not created by pybpf")
    path = _events_file(kind)
    if f"{PROBE_GROUP}/{name}" not in probe_event_names(kind):
        return
    _write(path, f"-:{PROBE_GROUP}/{name}\n", f"remove {kind} entry {name}")


_OWNER = r"^pybpf_(\d+)_\d+_"  # (compiled on first use, by re's own cache)


def _reclaim_dead(kind: str) -> None:
    """Remove pybpf entries whose creating process no longer exists."""
    for full in probe_event_names(kind):
        group, _, name = full.partition("/")
        m = re.match(_OWNER, name)
        if group != PROBE_GROUP or not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or Path(f"/proc/{pid}").exists():
            continue
        try:  # noqa: SIM105 - busy (still attached elsewhere) or gone: leave it
            remove_probe_event(kind, name)
        except KernelError:
            pass

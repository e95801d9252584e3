"""The runner's main loop: open, configure, load, attach, stream events and printk
output until a signal or ``duration``, then show every map."""

from __future__ import annotations

import json
import os
import signal
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TextIO

from pybpf.errors import BPFError
from pybpf.runner.infer import EventTypes
from pybpf.runner.maps import MapView
from pybpf.runner.values import parse_value, to_jsonable

__all__ = ["RunOptions", "run"]

_PRINTK_HELPERS = {6, 177}  # bpf_trace_printk, bpf_trace_vprintk
_CALL = 0x85
_RINGBUF, _PERF_ARRAY = 27, 4
_SKIP_MAPS = {_RINGBUF, _PERF_ARRAY}


@dataclass
class RunOptions:
    """What ``pybpf run`` was asked to do."""

    path: str
    sets: Sequence[str] = ()
    event: str | None = None
    duration: float | None = None
    json: bool = False
    verbose: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)


class _Stop(Exception):
    pass


def uses_printk(spec: Any) -> bool:
    """Whether any program calls bpf_trace_printk/bpf_trace_vprintk."""
    for prog in spec.programs.values():
        code = prog.insns or b""
        for off in range(0, len(code) - 7, 8):
            op, regs, _o, imm = struct.unpack_from("<BBhi", code, off)
            if op == _CALL and (regs >> 4) == 0 and imm in _PRINTK_HELPERS:
                return True
    return False


def apply_sets(obj: Any, sets: Sequence[str]) -> dict[str, Any]:
    """Set ``VAR=VALUE`` globals before load, parsing each value per the variable's type."""
    done: dict[str, Any] = {}
    for item in sets:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise BPFError(f"--set {item!r}: want VAR=VALUE")
        try:
            var = obj.spec.variables[name]
        except KeyError as exc:
            known = ", ".join(sorted(v for v in obj.spec.variables if "." not in v)) or "none"
            raise BPFError(f"--set {name}: no such global variable (known: {known})") from exc
        value = parse_value(text, obj.spec.btf, var.type_id, f"--set {name}")
        obj.globals[name] = value
        done[name] = value
    return done


class _Output:
    """Events, printk lines and maps, as text lines or JSON lines."""

    def __init__(self, opts: RunOptions) -> None:
        self.json = opts.json
        self.out = opts.out

    def emit(self, kind: str, text: str, data: dict[str, Any]) -> None:
        if self.json:
            self.out.write(json.dumps({"type": kind, **data}) + "\n")
        else:
            self.out.write(text + "\n")
        self.out.flush()


def _event_text(name: str, value: Any) -> str:
    j = to_jsonable(value)
    if isinstance(j, dict):
        body = " ".join(
            f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in j.items()
        )
    else:
        body = str(j)
    return f"{name}: {body}"


def _map_key_value_types(spec: Any) -> set[int]:
    out: set[int] = set()
    for ms in spec.maps.values():
        out.update(t for t in (ms.key_type_id, ms.value_type_id) if t)
    return out


def run(opts: RunOptions) -> int:
    """Run an object as ``pybpf run`` does; returns the exit status."""
    import pybpf
    from pybpf.events.tracepipe import TracePipe

    out = _Output(opts)
    obj = pybpf.open(opts.path, verbose=opts.verbose)
    readers: list[Any] = []
    pipe: TracePipe | None = None
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    try:
        apply_sets(obj, opts.sets)
        obj.load()
        if uses_printk(obj.spec):
            pipe = TracePipe()
        obj.attach()
        for name, why in obj.attach_skipped.items():
            out.emit("skipped", f"not attached: {name}: {why}", {"program": name, "reason": why})
        kinds = EventTypes(obj.spec.btf, _map_key_value_types(obj.spec))
        for m in obj.maps.values():
            if int(m.type) in (_RINGBUF, _PERF_ARRAY):
                readers.append(_open_reader(obj, m, opts.event, kinds, out))
        attached = sorted(
            n for n, p in obj.programs.items() if p.loaded and n not in obj.attach_skipped
        )
        out.emit(
            "start",
            f"Running {os.path.basename(opts.path)}: {', '.join(attached) or 'nothing attached'}"
            " (Ctrl-C to stop)",
            {"object": opts.path, "attached": attached},
        )
        for s in old:
            signal.signal(s, stop)
        deadline = None if opts.duration is None else time.monotonic() + opts.duration
        try:
            while deadline is None or time.monotonic() < deadline:
                for r in readers:
                    r.poll(0)
                if pipe is not None:
                    for line in pipe.read_lines(50 if readers else 100):
                        out.emit(
                            "printk",
                            f"printk: {line.task}-{line.pid}: {line.message}",
                            {"task": line.task, "pid": line.pid, "message": line.message},
                        )
                elif readers:
                    readers[0].poll(100)
                else:
                    time.sleep(0.1)
        except _Stop:
            pass
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        for r in readers:
            r.poll(0)
        _show_maps(obj, out)
        report_lost(readers, out)
        return 0
    finally:
        for r in readers:
            r.close()
        if pipe is not None:
            pipe.close()
        obj.close()


def report_lost(readers: Sequence[Any], out: _Output) -> int:
    """Say "N events lost" per reader that lost records (text and JSON); the total."""
    total = 0
    for r in readers:
        n = int(r.lost)
        if n:
            total += n
            out.emit("lost", f"{n} events lost ({r.name})", {"map": r.name, "lost": n})
    return total


def _open_reader(obj: Any, m: Any, event: str | None, kinds: EventTypes, out: _Output) -> Any:
    """A ring/perf buffer reader that decodes with the named or inferred struct."""
    btf = obj.spec.btf
    layouts: dict[int, Any] = {}

    def layout_for(size: int) -> tuple[str, Any] | None:
        from pybpf.btf.layout import Layout

        if event is not None:
            tid = -1
        else:
            picked = kinds.pick(size)
            if picked is None:
                return None
            tid = picked
        if tid not in layouts:
            if event is not None:
                from pybpf.btf import Kind

                ids = btf.find(event.removeprefix("struct ").strip(), Kind.STRUCT) if btf else []
                if not ids:
                    raise BPFError(f"--event {event}: no such struct in the object's BTF")
                layouts[tid] = (btf.type_name(ids[0]), Layout.for_type(btf, ids[0]))
            else:
                layouts[tid] = (kinds.name(tid), Layout.for_type(btf, tid))
        result: tuple[str, Any] = layouts[tid]
        return result

    def handle(data: Any, pad: int = 0) -> None:
        raw = bytes(data)
        found = layout_for(len(raw)) if btf is not None else None
        for cut in range(1, pad + 1):  # perf samples carry up to 4 bytes of alignment
            if found is not None or btf is None:
                break
            found = layout_for(len(raw) - cut)
            if found is not None:
                raw = raw[: len(raw) - cut]
        if found is None or found[1].size > len(raw):
            out.emit("event", f"{m.name}: {raw.hex()}", {"map": m.name, "raw": raw.hex()})
            return
        name, lay = found
        value = lay.decode(raw)
        out.emit(
            "event",
            _event_text(name.removeprefix("struct "), value),
            {"map": m.name, "struct": name, "data": to_jsonable(value)},
        )

    if int(m.type) == _RINGBUF:
        return obj.ringbuf(m.name, handle)
    return obj.perfbuf(m.name, lambda _cpu, data: handle(data, 4))


def _show_maps(obj: Any, out: _Output) -> None:
    """Every map's contents (global data as variables) at exit."""
    from pybpf.elf.maps import MapKind

    for name, ms in obj.spec.maps.items():
        m = obj.maps[name]
        if int(m.type) in _SKIP_MAPS or ms.kind == MapKind.KCONFIG:
            continue
        if ms.kind in (MapKind.DATA, MapKind.BSS, MapKind.RODATA):
            for var, vs in obj.spec.variables.items():
                if vs.section == ms.section and "." not in var:
                    value = obj.globals[var]
                    out.emit(
                        "global",
                        f"{var} = {_event_text('', value)[2:]}",
                        {"name": var, "section": vs.section, "value": to_jsonable(value)},
                    )
            continue
        try:
            items = list(m.items())
        except (BPFError, TypeError):
            continue
        view = MapView(name, items)
        if out.json:
            out.out.write(json.dumps(view.json()) + "\n")
        else:
            for line in view.text():
                out.out.write(line + "\n")
        out.out.flush()

"""``pybpf btf``: show one BTF type or dump a whole BTF blob (bpftool's raw format).

FILE may be a raw BTF blob (default ``/sys/kernel/btf/vmlinux``) or a BPF ELF
object, whose ``.BTF`` section is read (DATASECs as stored: size 0 until loaded).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
from typing import Any

from pybpf.btf import BTF, VMLINUX_PATH, Kind, Struct, Union
from pybpf.btf.dump import format_raw, iter_raw
from pybpf.errors import BTFError


def register(subparsers: Any) -> None:
    """Add ``btf show`` and ``btf dump``."""
    p = subparsers.add_parser("btf", help="inspect BTF type information")
    sub = p.add_subparsers(dest="btf_command", metavar="SUBCOMMAND")

    show = sub.add_parser("show", help="show one type (by name or id) with member offsets")
    show.add_argument("type", metavar="NAME_OR_ID", help="type name (e.g. task_struct) or id")
    show.add_argument("--file", default=VMLINUX_PATH, help="BTF blob or BPF object")
    show.add_argument("--kind", help="only types of this kind (struct, union, enum, ...)")
    show.add_argument("--json", action="store_true", help="JSON output")
    show.set_defaults(func=_show)

    dump = sub.add_parser("dump", help="dump every type (bpftool 'btf dump file' format)")
    dump.add_argument("file", nargs="?", default=VMLINUX_PATH, help="BTF blob or BPF object")
    dump.add_argument("--format", choices=("raw", "c"), default="raw")
    dump.set_defaults(func=_dump)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _load(path: str) -> BTF:
    if path == VMLINUX_PATH:
        return BTF.load_vmlinux()
    return BTF.from_file(path)


def _dump(args: argparse.Namespace) -> int:
    btf = _load(args.file)
    if args.format == "c":
        # Hook: the C dumper lives in pybpf.btf.cdump (dump_c(btf) -> str) when built.
        try:
            cdump = importlib.import_module("pybpf.btf.cdump")
        except ModuleNotFoundError as exc:
            if exc.name != "pybpf.btf.cdump":
                raise
            print("pybpf: error: C format is not available in this build", file=sys.stderr)
            return 1
        sys.stdout.write(cdump.dump_c(btf))
        return 0
    out = sys.stdout
    for text in iter_raw(btf):
        out.write(text)
        out.write("\n")
    return 0


def _select(btf: BTF, spec: str, kind: str | None) -> list[int]:
    if spec.isdigit():
        tid = int(spec)
        btf.type(tid)  # validates the id
        return [tid]
    k = None
    if kind:
        try:
            k = Kind[kind.upper()]
        except KeyError as exc:
            raise BTFError(f"unknown kind {kind!r}") from exc
    ids = btf.find(spec, k)
    if not ids:
        raise BTFError(f"no type named {spec!r}", file=None, section=btf.name)
    return ids


def describe(btf: BTF, tid: int) -> dict[str, Any]:
    """A JSON-able description of one type with its members' offsets and sizes."""
    t = btf.type(tid)
    info: dict[str, Any] = {"id": tid, "kind": t.kind.name, "name": t.name, "c": btf.type_name(tid)}
    with contextlib.suppress(BTFError):
        info["size"] = btf.size_of(tid)
    if isinstance(t, Struct | Union):
        members = []
        for m in t.members:
            entry: dict[str, Any] = {
                "name": m.name,
                "type_id": m.type,
                "type": btf.type_name(m.type),
                "offset": m.bit_offset // 8,
                "bit_offset": m.bit_offset,
            }
            if m.bitfield_size:
                entry["bitfield_size"] = m.bitfield_size
            else:
                try:
                    entry["size"] = btf.size_of(m.type)
                except BTFError:
                    entry["size"] = None
            members.append(entry)
        info["members"] = members
    elif hasattr(t, "values"):
        info["values"] = {v.name: v.value for v in t.values}
    return info


def _show(args: argparse.Namespace) -> int:
    btf = _load(args.file)
    ids = _select(btf, args.type, args.kind)
    if args.json:
        print(json.dumps([describe(btf, i) for i in ids], indent=2))
        return 0
    for tid in ids:
        d = describe(btf, tid)
        size = f" size={d['size']}" if "size" in d else ""
        print(f"[{tid}] {d['kind']} {d['c']}{size}")
        for m in d.get("members", ()):
            where = f"{m['offset']:>6}"
            if "bitfield_size" in m:
                where += f":{m['bit_offset'] % 8}"
                what = f"bits={m['bitfield_size']}"
            else:
                where += "  "
                what = f"size={m['size']}"
            print(f"  {where}  {m['name'] or '(anon)':<28} {m['type']:<40} {what}")
        for name, value in d.get("values", {}).items():
            print(f"  {name} = {value}")
        if "members" not in d and "values" not in d:
            print("  " + format_raw(btf, tid).replace("\n", "\n  "))
    return 0

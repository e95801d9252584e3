"""``pybpf map list|dump ID|lookup ID KEY|update ID KEY VALUE|delete ID KEY|pin ID PATH``:
maps in the kernel, with keys and values typed from the map's own BTF when it has one."""

from __future__ import annotations

import argparse
from typing import Any

from pybpf.cli._output import emit_json, emit_table, type_name

__all__ = ["open_map", "register"]


def register(subparsers: Any) -> None:
    """Add the ``map`` subcommands."""
    p = subparsers.add_parser("map", help="list, dump and edit maps in the kernel")
    sub = p.add_subparsers(dest="map_cmd", metavar="CMD", required=True)
    ls = sub.add_parser("list", help="every map")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    d = sub.add_parser("dump", help="every entry of a map")
    d.add_argument("id", type=int)
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_dump)
    lk = sub.add_parser("lookup", help="one entry")
    lk.add_argument("id", type=int)
    lk.add_argument("key")
    lk.add_argument("--json", action="store_true")
    lk.set_defaults(func=_lookup)
    up = sub.add_parser("update", help="store an entry")
    up.add_argument("id", type=int)
    up.add_argument("key")
    up.add_argument("value")
    up.set_defaults(func=_update)
    de = sub.add_parser("delete", help="remove an entry")
    de.add_argument("id", type=int)
    de.add_argument("key")
    de.set_defaults(func=_delete)
    pin = sub.add_parser("pin", help="pin a map on bpffs")
    pin.add_argument("id", type=int)
    pin.add_argument("path")
    pin.set_defaults(func=_pin)


def map_record(info: Any) -> dict[str, Any]:
    """A map's info with bpftool's JSON keys."""
    return {
        "id": info.id,
        "type": type_name(info.type),
        "name": info.name,
        "flags": info.map_flags,
        "bytes_key": info.key_size,
        "bytes_value": info.value_size,
        "max_entries": info.max_entries,
        "btf_id": info.btf_id,
    }


def _list(args: argparse.Namespace) -> int:
    from pybpf import introspect

    recs = [map_record(i) for i in sorted(introspect.maps(), key=lambda i: i.id)]
    if args.json:
        emit_json(recs)
        return 0
    emit_table(
        "Maps",
        ("id", "type", "name", "key", "value", "max_entries", "flags", "btf"),
        [
            (
                r["id"],
                r["type"],
                r["name"],
                r["bytes_key"],
                r["bytes_value"],
                r["max_entries"],
                f"{r['flags']:#x}",
                r["btf_id"] or "-",
            )
            for r in recs
        ],
    )
    return 0


def open_map(map_id: int) -> Any:
    """The map with kernel id ``map_id``, typed from its BTF when it has one."""
    from pybpf.btf import BTF
    from pybpf.map import Map
    from pybpf.sys.info import btf_raw_by_id, map_info
    from pybpf.sys.objects import get_fd_by_id

    fd = get_fd_by_id("map", map_id)
    try:
        info = map_info(fd)
        btf = BTF.from_bytes(btf_raw_by_id(info.btf_id)) if info.btf_id else None
        return Map.from_fd(fd, btf=btf)
    except BaseException:
        fd.close()
        raise


def _parse(m: Any, text: str, type_id: int, size: int, what: str) -> Any:
    """A key or value from text: by BTF type, else an integer of the element's size."""
    from pybpf.errors import BPFError
    from pybpf.runner.values import parse_value

    if m.btf is not None and type_id:
        return parse_value(text, m.btf, type_id, what)
    if text.startswith("hex:"):
        raw = bytes.fromhex(text[4:])
    else:
        try:
            raw = int(text, 0).to_bytes(size, "little", signed=text.strip().startswith("-"))
        except (ValueError, OverflowError):
            raise BPFError(f"{what}: {text!r} is not a {size}-byte integer (or hex:...)") from None
    if len(raw) != size:
        raise BPFError(f"{what}: {len(raw)} bytes given, the map wants {size}")
    return raw


def _key(m: Any, text: str) -> Any:
    return _parse(m, text, m.key_type_id, m.key_size, "key")


def _show(v: Any) -> str:
    from pybpf.runner.values import to_jsonable

    j = to_jsonable(v)
    return j if isinstance(j, str) else _json(j)


def _json(v: Any) -> str:
    import json

    return json.dumps(v)


def _dump(args: argparse.Namespace) -> int:
    from pybpf.runner.values import to_jsonable

    with open_map(args.id) as m:
        items = list(m.items())
    if args.json:
        emit_json([{"key": to_jsonable(k), "value": to_jsonable(v)} for k, v in items])
        return 0
    for k, v in items:
        print(f"key: {_show(k)}  value: {_show(v)}")
    print(f"Found {len(items)} element{'s' if len(items) != 1 else ''}")
    return 0


def _lookup(args: argparse.Namespace) -> int:
    from pybpf.errors import MapError
    from pybpf.runner.values import to_jsonable

    with open_map(args.id) as m:
        key = _key(m, args.key)
        value = m.lookup(key)
    if value is None:
        import errno

        raise MapError(f"look up key {args.key} in map {args.id}", errno.ENOENT)
    if args.json:
        emit_json({"key": to_jsonable(key), "value": to_jsonable(value)})
    else:
        print(f"key: {_show(key)}  value: {_show(value)}")
    return 0


def _update(args: argparse.Namespace) -> int:
    with open_map(args.id) as m:
        m[_key(m, args.key)] = _parse(m, args.value, m.value_type_id, m.value_size, "value")
    return 0


def _delete(args: argparse.Namespace) -> int:
    import errno

    from pybpf.errors import MapError

    with open_map(args.id) as m:
        try:
            del m[_key(m, args.key)]
        except KeyError:
            raise MapError(f"delete key {args.key} in map {args.id}", errno.ENOENT) from None
    return 0


def _pin(args: argparse.Namespace) -> int:
    with open_map(args.id) as m:
        m.pin(args.path)
    return 0

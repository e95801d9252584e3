"""``pybpf map list|show MAP|dump MAP|lookup MAP KEY|update MAP KEY VALUE|delete MAP KEY|
pin MAP PATH``: maps in the kernel, with keys and values typed from the map's own BTF
when it has one. MAP is ``id N``, ``name NAME`` or ``pinned PATH`` (a bare N is an id);
``key``/``value`` may precede KEY and VALUE, as in bpftool."""

from __future__ import annotations

import argparse
from typing import Any

from pybpf.cli._output import emit_json, emit_table, type_name
from pybpf.cli._select import TARGET_METAVAR, add_target, fdinfo, one, resolve, split_target
from pybpf.errors import BPFError

__all__ = ["open_map", "register"]


def register(subparsers: Any) -> None:
    """Add the ``map`` subcommands."""
    p = subparsers.add_parser("map", help="list, dump and edit maps in the kernel")
    sub = p.add_subparsers(dest="map_cmd", metavar="CMD", required=True)
    ls = sub.add_parser("list", help="every map")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    sh = sub.add_parser("show", help="maps by id, name or pin (all with no argument)")
    sh.add_argument("target", nargs="*", metavar="ARG", help=TARGET_METAVAR)
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=_show_cmd)
    d = sub.add_parser("dump", help="every entry of a map")
    add_target(d)
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_dump)
    lk = sub.add_parser("lookup", help="one entry")
    add_target(lk, "[key] KEY")
    lk.add_argument("--json", action="store_true")
    lk.set_defaults(func=_lookup)
    up = sub.add_parser("update", help="store an entry")
    add_target(up, "[key] KEY [value] VALUE")
    up.add_argument("--json", action="store_true")
    up.set_defaults(func=_update)
    de = sub.add_parser("delete", help="remove an entry")
    add_target(de, "[key] KEY")
    de.add_argument("--json", action="store_true")
    de.set_defaults(func=_delete)
    pin = sub.add_parser("pin", help="pin a map on bpffs")
    add_target(pin, "PATH")
    pin.add_argument("--json", action="store_true")
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


def _records(ids: Any) -> list[dict[str, Any]]:
    from pybpf.errors import KernelError
    from pybpf.sys.info import map_info
    from pybpf.sys.objects import get_fd_by_id

    out = []
    for map_id in ids:
        try:
            with get_fd_by_id("map", map_id) as fd:
                rec = map_record(map_info(fd))
                memlock = fdinfo(fd.fileno()).get("memlock", "")
                if memlock.isdigit():
                    rec["bytes_memlock"] = int(memlock)
                out.append(rec)
        except KernelError:
            if isinstance(ids, list):
                raise
    return out


def _list(args: argparse.Namespace) -> int:
    from pybpf.sys.objects import ids

    _emit_maps(args, _records(iter(sorted(ids("map")))))
    return 0


def _show_cmd(args: argparse.Namespace) -> int:
    if not args.target:
        return _list(args)
    sel, rest = split_target(args.target, "map")
    _no_more(rest, "map show")
    recs = _records(resolve("map", sel))
    if args.json and len(recs) == 1 and sel[0] != "name":
        emit_json(recs[0])
        return 0
    _emit_maps(args, recs)
    return 0


def _no_more(rest: list[str], what: str) -> None:
    if rest:
        raise BPFError(f"{what}: unexpected {' '.join(rest)!r}")


def _words(args: argparse.Namespace, what: str, *names: str) -> tuple[int, list[str]]:
    """The map id and the words ``names`` (KEY, VALUE, PATH) after the map selector;
    bpftool's ``key``/``value`` keywords before them are accepted."""
    sel, rest = split_target(args.target, "map")
    words = [w for i, w in enumerate(rest) if not (w in ("key", "value") and i < len(rest) - 1)]
    if len(words) != len(names):
        raise BPFError(f"map {what}: expected {' '.join(names)} after the map, got {rest!r}")
    return one("map", sel), words


def _emit_maps(args: argparse.Namespace, recs: list[dict[str, Any]]) -> None:
    if args.json:
        emit_json(recs)
        return
    emit_table(
        "Maps",
        ("id", "type", "name", "key", "value", "max_entries", "flags", "memlock", "btf"),
        [
            (
                r["id"],
                r["type"],
                r["name"],
                r["bytes_key"],
                r["bytes_value"],
                r["max_entries"],
                f"{r['flags']:#x}",
                r.get("bytes_memlock", "-"),
                r["btf_id"] or "-",
            )
            for r in recs
        ],
    )


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
        except (ValueError, OverflowError) as exc:
            raise BPFError(f"{what}: {text!r} is not a {size}-byte integer (or hex:...)") from exc
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

    sel, rest = split_target(args.target, "map")
    _no_more(rest, "map dump")
    with open_map(one("map", sel)) as m:
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

    map_id, (key_text,) = _words(args, "lookup", "KEY")
    with open_map(map_id) as m:
        key = _key(m, key_text)
        value = m.lookup(key)
    if value is None:
        import errno

        raise MapError(f"look up key {key_text} in map {map_id}", errno.ENOENT)
    if args.json:
        emit_json({"key": to_jsonable(key), "value": to_jsonable(value)})
    else:
        print(f"key: {_show(key)}  value: {_show(value)}")
    return 0


def _update(args: argparse.Namespace) -> int:
    map_id, (key_text, value_text) = _words(args, "update", "KEY", "VALUE")
    with open_map(map_id) as m:
        m[_key(m, key_text)] = _parse(m, value_text, m.value_type_id, m.value_size, "value")
    _done(args)
    return 0


def _done(args: argparse.Namespace) -> None:
    """bpftool prints ``null`` in JSON mode for commands without output."""
    if args.json:
        emit_json(None)


def _delete(args: argparse.Namespace) -> int:
    import errno

    from pybpf.errors import MapError

    map_id, (key_text,) = _words(args, "delete", "KEY")
    with open_map(map_id) as m:
        try:
            del m[_key(m, key_text)]
        except KeyError as exc:
            raise MapError(f"delete key {key_text} in map {map_id}", errno.ENOENT) from exc
    _done(args)
    return 0


def _pin(args: argparse.Namespace) -> int:
    map_id, (path,) = _words(args, "pin", "PATH")
    with open_map(map_id) as m:
        m.pin(path)
    _done(args)
    return 0

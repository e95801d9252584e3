"""``pybpf prog list|show PROG|dump xlated PROG|dump jited PROG``: loaded programs, as
bpftool shows them (xlated code disassembled with pybpf.asm). PROG is ``id N``,
``name NAME`` or ``pinned PATH`` (a bare N is an id)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pybpf.cli._output import emit_json, emit_table, type_name
from pybpf.cli._select import (
    TARGET_METAVAR,
    add_target,
    boot_time,
    fdinfo,
    one,
    resolve,
    split_target,
)
from pybpf.errors import BPFError

__all__ = ["prog_record", "register"]


def register(subparsers: Any) -> None:
    """Add the ``prog`` subcommands."""
    p = subparsers.add_parser("prog", help="list, show and dump loaded programs")
    sub = p.add_subparsers(dest="prog_cmd", metavar="CMD", required=True)
    ls = sub.add_parser("list", help="every loaded program")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    show = sub.add_parser("show", help="programs by id, name or pin (all with no argument)")
    show.add_argument("target", nargs="*", metavar="ARG", help=TARGET_METAVAR)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)
    dump = sub.add_parser("dump", help="a program's code")
    dsub = dump.add_subparsers(dest="what", metavar="xlated|jited", required=True)
    for what in ("xlated", "jited"):
        d = dsub.add_parser(what, help=f"the {what} instructions")
        add_target(d)
        d.add_argument("--json", action="store_true")
        d.set_defaults(func=_dump, what=what)


def prog_record(info: Any, fd_fields: dict[str, str] | None = None) -> dict[str, Any]:
    """A program's info with bpftool's JSON keys (``fd_fields``: its fdinfo, for memlock)."""
    rec: dict[str, Any] = {
        "id": info.id,
        "type": type_name(info.type),
        "name": info.name,
        "tag": info.tag,
        "gpl_compatible": info.gpl_compatible,
        "run_time_ns": info.run_time_ns,
        "run_cnt": info.run_cnt,
        "bytes_xlated": info.xlated_prog_len,
        "jited": info.jited_prog_len > 0,
        "bytes_jited": info.jited_prog_len,
        "map_ids": list(info.map_ids),
        "btf_id": info.btf_id,
        "verified_insns": info.verified_insns,
        "loaded_at": int(boot_time() + info.load_time / 1e9),
        "uid": info.created_by_uid,
    }
    memlock = (fd_fields or {}).get("memlock")
    if memlock is not None and memlock.isdigit():
        rec["bytes_memlock"] = int(memlock)
    return rec


def _records(ids: Any) -> list[dict[str, Any]]:
    """Records of the programs ``ids`` (those that went away meanwhile are skipped
    when listing every program)."""
    from pybpf.errors import KernelError
    from pybpf.sys.info import prog_info
    from pybpf.sys.objects import get_fd_by_id

    out = []
    for prog_id in ids:
        try:
            with get_fd_by_id("prog", prog_id) as fd:
                out.append(prog_record(prog_info(fd), fdinfo(fd.fileno())))
        except KernelError:
            if isinstance(ids, list):
                raise
    return out


def _when(epoch: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))


def _table(recs: list[dict[str, Any]]) -> None:
    emit_table(
        "Programs",
        (
            "id",
            "type",
            "name",
            "tag",
            "gpl",
            "loaded_at",
            "uid",
            "xlated",
            "jited",
            "memlock",
            "run_time_ns",
            "run_cnt",
            "maps",
            "btf",
        ),
        [
            (
                r["id"],
                r["type"],
                r["name"],
                r["tag"],
                "yes" if r["gpl_compatible"] else "no",
                _when(r["loaded_at"]),
                r["uid"],
                r["bytes_xlated"],
                r["bytes_jited"],
                r.get("bytes_memlock", "-"),
                r["run_time_ns"],
                r["run_cnt"],
                ",".join(map(str, r["map_ids"])) or "-",
                r["btf_id"] or "-",
            )
            for r in recs
        ],
    )


def _list(args: argparse.Namespace) -> int:
    from pybpf.sys.objects import ids

    recs = _records(iter(sorted(ids("prog"))))
    if args.json:
        emit_json(recs)
    else:
        _table(recs)
    return 0




def _show(args: argparse.Namespace) -> int:
    if not args.target:
        return _list(args)
    sel, rest = split_target(args.target, "prog")
    if rest:
        raise BPFError(f"prog show: unexpected {' '.join(rest)!r}")
    recs = _records(resolve("prog", sel))
    if args.json:
        emit_json(recs[0] if len(recs) == 1 and sel[0] != "name" else recs)
    else:
        _table(recs)
    return 0


def xlated_lines(code: bytes) -> list[str]:
    """The xlated instructions as ``pc: text`` lines."""
    from pybpf.asm import decode
    from pybpf.asm.syntax import format_instruction

    out = []
    for insn in decode(code):
        text = (
            format_instruction(insn, pc=insn.byte_offset) or f"<unknown opcode {insn.opcode:#04x}>"
        )
        out.append(f"{insn.slot:5d}: {text}")
    return out


def _dump(args: argparse.Namespace) -> int:
    from pybpf.sys.info import prog_jited_insns, prog_xlated_insns
    from pybpf.sys.objects import get_fd_by_id

    sel, rest = split_target(args.target, "prog")
    if rest:
        raise BPFError(f"prog dump: unexpected {' '.join(rest)!r}")
    prog_id = one("prog", sel)
    with get_fd_by_id("prog", prog_id) as fd:
        code = prog_xlated_insns(fd) if args.what == "xlated" else prog_jited_insns(fd)
    if args.what == "xlated":
        lines = xlated_lines(code)
        if args.json:
            emit_json([{"pc": int(s.split(":")[0]), "insn": s.split(": ", 1)[1]} for s in lines])
        else:
            print("\n".join(lines))
        return 0
    from pybpf.kernel.jit import have_capstone

    if code and have_capstone():
        from pybpf.cli.explain import dump_jited

        return dump_jited(prog_id, json=args.json)
    if args.json:
        emit_json({"id": prog_id, "bytes_jited": len(code), "hex": code.hex()})
        return 0
    if code:
        print("(hex dump: install pybpf[jit] for a disassembly)", file=sys.stderr)
    for off in range(0, len(code), 16):
        chunk = code[off : off + 16]
        print(f"{off:6x}:  {' '.join(f'{b:02x}' for b in chunk)}")
    return 0

"""``pybpf tracepoint list [PATTERN]`` and ``pybpf tracepoint format CAT/NAME [--c|--python]``:
the tracefs format file of a tracepoint as a C ctx struct or a Python ctypes layout
(seed 002 §6: what a tracepoint program's ctx points at)."""

from __future__ import annotations

import argparse
import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from pybpf.errors import BPFError

__all__ = ["Field", "parse_format", "register", "to_c", "to_python"]

_FIELD = re.compile(
    r"^\s*field:(?P<decl>.+?);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);\s*signed:(?P<signed>\d);"
)


@dataclass(frozen=True)
class Field:
    """One ``field:`` line of a format file."""

    decl: str
    name: str
    offset: int
    size: int
    signed: bool
    array: int | None  # element count of ``type name[N]``


def parse_format(text: str, what: str = "format") -> tuple[int, list[Field]]:
    """The event id and the fields of a tracefs format file."""
    tp_id = -1
    fields: list[Field] = []
    for line in text.splitlines():
        if line.startswith("ID:"):
            tp_id = int(line.split(":", 1)[1])
        m = _FIELD.match(line)
        if not m:
            continue
        decl = m["decl"].strip()
        arr = re.search(r"\[(\d*)\]\s*$", decl)
        base = decl[: arr.start()].rstrip() if arr else decl
        name = re.split(r"[\s*]+", base)[-1]
        count = int(arr.group(1)) if arr and arr.group(1) else (0 if arr else None)
        fields.append(Field(decl, name, int(m["off"]), int(m["size"]), m["signed"] == "1", count))
    if not fields:
        raise BPFError(f"{what}: no fields in the format file")
    return tp_id, fields


def _c_type(f: Field) -> str:
    if f.name.startswith("__data_loc") or f.decl.startswith("__data_loc"):
        return "__u32"
    if f.array is not None or "*" in f.decl:
        return ""
    ints = {1: "8", 2: "16", 4: "32", 8: "64"}
    return f"__{'s' if f.signed else 'u'}{ints[f.size]}" if f.size in ints else ""


def to_c(cat: str, name: str, fields: list[Field]) -> str:
    """A C struct with every field at its offset (padding made explicit)."""
    lines = [f"/* {cat}/{name} */", f"struct trace_event_raw_{name}_ctx {{"]
    pos, pad = 0, 0
    for f in fields:
        if f.offset > pos:
            lines.append(f"\tchar __pad{pad}[{f.offset - pos}];")
            pad += 1
        ctype = _c_type(f)
        if f.decl.startswith("__data_loc"):
            lines.append(f"\t__u32 __data_loc_{f.name}; /* {f.decl} */")
        elif "*" in f.decl and f.array is None:
            lines.append(f"\t__u64 {f.name}; /* {f.decl} */")
        elif f.array is not None:
            n = f.array or 0
            elem = f.size // n if n else f.size
            et = "char" if elem == 1 else f"__{'s' if f.signed else 'u'}{elem * 8}"
            lines.append(f"\t{et} {f.name}[{n}];")
        elif ctype:
            lines.append(f"\t{ctype} {f.name};")
        else:
            lines.append(f"\tchar {f.name}[{f.size}]; /* {f.decl} */")
        pos = f.offset + f.size
    lines.append("};")
    return "\n".join(lines) + "\n"


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", name) if p)


def to_python(cat: str, name: str, fields: list[Field]) -> str:
    """A ctypes.Structure with every field at its offset."""
    ints = {1: "8", 2: "16", 4: "32", 8: "64"}
    lines = [
        f'"""Layout of the {cat}/{name} tracepoint record (from its tracefs format)."""',
        "",
        "import ctypes",
        "",
        "",
        f"class {_camel(name)}(ctypes.Structure):",
        f'    """{cat}/{name}."""',
        "",
        "    _pack_ = 1",
        "    _fields_ = [",
    ]
    pos, pad = 0, 0
    for f in fields:
        if f.offset > pos:
            lines.append(f'        ("_pad{pad}", ctypes.c_uint8 * {f.offset - pos}),')
            pad += 1
        if f.array is not None and f.array:
            elem = f.size // f.array
            et = (
                "ctypes.c_char" if elem == 1 else f"ctypes.c_{'' if f.signed else 'u'}int{elem * 8}"
            )
            ctype = f"{et} * {f.array}"
        elif "*" in f.decl or f.decl.startswith("__data_loc"):
            ctype = f"ctypes.c_uint{f.size * 8}" if f.size in ints else f"ctypes.c_uint8 * {f.size}"
        elif f.size in ints:
            ctype = f"ctypes.c_{'' if f.signed else 'u'}int{ints[f.size]}"
        else:
            ctype = f"ctypes.c_uint8 * {f.size}"
        lines.append(f'        ("{f.name}", {ctype}),  # {f.decl}')
        pos = f.offset + f.size
    lines.append("    ]")
    return "\n".join(lines) + "\n"


def register(subparsers: Any) -> None:
    """Add the ``tracepoint`` subcommands."""
    p = subparsers.add_parser("tracepoint", help="list tracepoints and show their ctx layout")
    sub = p.add_subparsers(dest="tp_cmd", metavar="CMD", required=True)
    ls = sub.add_parser("list", help="tracepoints, optionally matching a glob")
    ls.add_argument("pattern", nargs="?", default="*", help="glob such as 'syscalls:*open*'")
    ls.set_defaults(func=_list)
    fm = sub.add_parser("format", help="the format file of CAT/NAME as C or Python")
    fm.add_argument("name", metavar="CAT/NAME")
    g = fm.add_mutually_exclusive_group()
    g.add_argument("--c", dest="lang", action="store_const", const="c", help="a C struct (default)")
    g.add_argument("--python", dest="lang", action="store_const", const="python")
    fm.set_defaults(func=_format, lang="c")


def _list(args: argparse.Namespace) -> int:
    from pybpf.kernel.tracefs import list_tracepoints

    pat = args.pattern.replace("/", ":")
    for tp in list_tracepoints():
        if fnmatch.fnmatchcase(tp.replace("/", ":"), pat):
            print(tp.replace("/", ":"))
    return 0


def _format(args: argparse.Namespace) -> int:
    import errno

    from pybpf.errors import KernelError
    from pybpf.kernel.tracefs import root

    cat, sep, name = args.name.replace(":", "/").partition("/")
    if not sep or not cat or not name:
        raise BPFError(f"{args.name!r}: want CATEGORY/NAME, e.g. syscalls/sys_enter_execve")
    path = root() / "events" / cat / name / "format"
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise KernelError(
            f"read {path}", errno.ENOENT, hint="list them with `pybpf tracepoint list`"
        ) from exc
    _, fields = parse_format(text, str(path))
    print(to_c(cat, name, fields) if args.lang == "c" else to_python(cat, name, fields), end="")
    return 0

"""Generate ``pybpf.sys.attrs`` (the ctypes layouts of ``union bpf_attr`` and of
``struct bpf_{prog,map,btf,link}_info``) from kernel BTF.

Each command's member of the kernel's ``union bpf_attr`` becomes one ctypes struct,
field for field (bitfields included; every offset is checked against the kernel's), read from ``/sys/kernel/btf/vmlinux`` with pybpf's own BTF reader
(as :mod:`pybpf.uapi.gen` does for the enums), so the layouts cannot drift from the
kernel's. C's anonymous unions (``union { __u32 attach_prog_fd; __u32
attach_btf_obj_fd; }``) become ctypes unions listed in ``_anonymous_``, so every C
name works as an attribute, as in C.

The rule for other kernels: the committed module is generated from the newest kernel
at hand, and the kernel only appends to these structs. A field an older kernel lacks
must stay zero (the kernel then accepts the larger struct: ``bpf_check_uarg_tail_zero()``
in kernel/bpf/syscall.c); :func:`problems` checks that every field the running kernel
has sits in the committed module at the same offset and size. Usage::

    python -m pybpf.uapi.gen_attrs            # print the module
    python -m pybpf.uapi.gen_attrs --write    # rewrite src/pybpf/sys/attrs.py
    python -m pybpf.uapi.gen_attrs --check    # exit 1 if it disagrees with this kernel
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pybpf.btf import BTF

__all__ = ["ATTRS", "AttrSpec", "main", "problems", "render"]

OUTPUT = Path(__file__).resolve().parent.parent / "sys" / "attrs.py"


@dataclass(frozen=True)
class AttrSpec:
    """One command's attr struct: a named member of ``union bpf_attr`` (``member``) or
    the anonymous one whose direct fields include ``has``."""

    cls: str
    doc: str
    member: str | None = None
    has: str | None = None
    struct: str | None = None  # or: a struct of its own (``bpf_prog_info``)


ATTRS: tuple[AttrSpec, ...] = (
    AttrSpec("MapCreateAttr", "BPF_MAP_CREATE.", has="map_type"),
    AttrSpec(
        "MapElemAttr",
        "BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM, FREEZE.",
        has="key",
    ),
    AttrSpec("BatchAttr", "BPF_MAP_*_BATCH.", member="batch"),
    AttrSpec("ProgLoadAttr", "BPF_PROG_LOAD.", has="prog_type"),
    AttrSpec("ObjAttr", "BPF_OBJ_PIN and BPF_OBJ_GET.", has="pathname"),
    AttrSpec("ProgAttachAttr", "BPF_PROG_ATTACH and BPF_PROG_DETACH.", has="attach_bpf_fd"),
    AttrSpec("TestRunAttr", "BPF_PROG_TEST_RUN.", member="test"),
    AttrSpec("GetIdAttr", "BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID.", has="next_id"),
    AttrSpec("InfoAttr", "BPF_OBJ_GET_INFO_BY_FD.", member="info"),
    AttrSpec("QueryAttr", "BPF_PROG_QUERY.", member="query"),
    AttrSpec("RawTracepointAttr", "BPF_RAW_TRACEPOINT_OPEN.", member="raw_tracepoint"),
    AttrSpec("BtfLoadAttr", "BPF_BTF_LOAD.", has="btf_log_buf"),
    AttrSpec("TaskFdQueryAttr", "BPF_TASK_FD_QUERY.", member="task_fd_query"),
    AttrSpec("LinkCreateAttr", "BPF_LINK_CREATE.", member="link_create"),
    AttrSpec("LinkUpdateAttr", "BPF_LINK_UPDATE.", member="link_update"),
    AttrSpec("LinkDetachAttr", "BPF_LINK_DETACH.", member="link_detach"),
    AttrSpec("EnableStatsAttr", "BPF_ENABLE_STATS.", member="enable_stats"),
    AttrSpec("IterCreateAttr", "BPF_ITER_CREATE.", member="iter_create"),
    AttrSpec("ProgBindMapAttr", "BPF_PROG_BIND_MAP.", member="prog_bind_map"),
    AttrSpec("TokenCreateAttr", "BPF_TOKEN_CREATE.", member="token_create"),
    AttrSpec(
        "BpfProgInfo", "What BPF_OBJ_GET_INFO_BY_FD fills in for a program.", struct="bpf_prog_info"
    ),
    AttrSpec(
        "BpfMapInfo", "What BPF_OBJ_GET_INFO_BY_FD fills in for a map.", struct="bpf_map_info"
    ),
    AttrSpec(
        "BpfBtfInfo",
        "What BPF_OBJ_GET_INFO_BY_FD fills in for a BTF object.",
        struct="bpf_btf_info",
    ),
    AttrSpec(
        "BpfLinkInfo",
        "What BPF_OBJ_GET_INFO_BY_FD fills in for a link: the per-link-type structs\n"
        "    are members of an anonymous union (``info.raw_tracepoint.tp_name``).",
        struct="bpf_link_info",
    ),
)

_SCALARS = {(1, False): "u8", (2, False): "u16", (4, False): "u32", (8, False): "u64"}
_SCALARS |= {(1, True): "s8", (2, True): "s16", (4, True): "s32", (8, True): "s64"}
_CTYPES = {
    "u8": "ctypes.c_uint8",
    "u16": "ctypes.c_uint16",
    "u32": "ctypes.c_uint32",
    "u64": "ctypes.c_uint64",
    "s8": "ctypes.c_int8",
    "s16": "ctypes.c_int16",
    "s32": "ctypes.c_int32",
    "s64": "ctypes.c_int64",
}


def _member_type(btf: BTF, spec: AttrSpec) -> int:
    """The type id of the member of ``union bpf_attr`` (or the struct) ``spec`` names."""
    from pybpf.btf import Kind, Struct, Union

    if spec.struct is not None:
        found = btf.find(spec.struct, Kind.STRUCT)
        if not found:
            raise LookupError(f"kernel BTF has no struct {spec.struct}")
        return found[0]

    ids = btf.find("bpf_attr", Kind.UNION)
    if not ids:
        raise LookupError("kernel BTF has no union bpf_attr")
    attr = btf.type(ids[0])
    assert isinstance(attr, Union)
    for m in attr.members:
        tid = btf.resolve(m.type)
        if spec.member is not None and m.name == spec.member:
            return tid
        t = btf.type(tid)
        if (
            spec.has is not None
            and not m.name
            and isinstance(t, Struct)
            and any(f.name == spec.has for f in t.members)
        ):
            return tid
    raise LookupError(f"union bpf_attr has no member for {spec.cls} ({spec.member or spec.has})")


def _scalar(btf: BTF, tid: int, where: str) -> str:
    """The ctypes spelling of a scalar or array member."""
    from pybpf.btf import Array, Enum, Int

    t = btf.type(btf.resolve(tid))
    if isinstance(t, Int | Enum):
        signed = t.signed if isinstance(t, Int) else False
        return _SCALARS[(t.size, signed)]
    if isinstance(t, Array):
        elem = btf.type(btf.resolve(t.type))
        if isinstance(elem, Int) and elem.name == "char":
            return f"ctypes.c_char * {t.nelems}"
        return f"{_scalar(btf, t.type, where)} * {t.nelems}"
    raise TypeError(f"{where}: no ctypes spelling for {type(t).__name__}")


def _classes(btf: BTF, tid: int, cls: str, doc: str, out: list[list[str]], where: str = "") -> None:
    """Append the class for struct/union ``tid`` to ``out``, its nested ones first."""
    from pybpf.btf import Struct, Union

    t = btf.type(tid)
    assert isinstance(t, Struct | Union)
    fields: list[str] = []
    anonymous: list[str] = []
    for i, m in enumerate(t.members):
        mid = btf.resolve(m.type)
        inner = btf.type(mid)
        if isinstance(inner, Struct | Union):
            name = m.name or f"_{i}"
            sub = f"_{cls.lstrip('_')}_{m.name or i}"
            _classes(btf, mid, sub, "", out)
            if not m.name:
                anonymous.append(name)
            fields.append(f'        ("{name}", {sub}),')
        elif m.bitfield_size:  # ctypes packs it as C does; _verify checks the bit offset
            ctype = _scalar(btf, m.type, f"{cls}.{m.name}")
            fields.append(f'        ("{m.name}", {ctype}, {m.bitfield_size}),')
        else:
            fields.append(f'        ("{m.name}", {_scalar(btf, m.type, f"{cls}.{m.name}")}),')
    base = "ctypes.Union" if isinstance(t, Union) else "ctypes.Structure"
    lines = [f"class {cls}({base}):"]
    if doc:
        lines += [f'    """{doc}', "", f"    In {where}.", '    """', ""]
    if anonymous:
        names = ", ".join(f'"{a}"' for a in anonymous)
        lines.append(f"    _anonymous_ = ({names}{',' if len(anonymous) == 1 else ''})")
    if len(fields) == 1:  # one field: on one line (as ruff format writes it)
        lines.append(f"    _fields_ = ({fields[0].strip()})")
    else:
        lines += ["    _fields_ = (", *fields, "    )"]
    out.append(lines)


def render(btf: BTF, release: str) -> str:
    """The source text of ``pybpf.sys.attrs`` for the kernel ``btf`` describes;
    ``release`` (``6.18``) is named in the header."""
    blocks: list[list[str]] = []
    for spec in ATTRS:
        if spec.struct:
            where = f"``struct {spec.struct}``"
        elif spec.member:
            where = f"``union bpf_attr``: member ``{spec.member}``"
        else:
            where = f"``union bpf_attr``: the anonymous member with ``{spec.has}``"
        _classes(btf, _member_type(btf, spec), spec.cls, spec.doc, blocks, where)
    body = "\n\n\n".join("\n".join(b) for b in blocks)
    used = sorted(
        alias
        for alias in _CTYPES
        if f", {alias})" in body or f", {alias}, " in body or f"{alias} *" in body
    )
    names = sorted(s.cls for s in ATTRS)
    lines = [
        "# Generated by `python -m pybpf.uapi.gen_attrs --write` from the BTF of",
        f"# Linux {release} (/sys/kernel/btf/vmlinux). Do not edit by hand: regenerate instead.",
        '"""ctypes layouts of ``union bpf_attr``, one struct per command (generated; see',
        "``pybpf.uapi.gen_attrs``).",
        "",
        "Each struct is the command's member of the kernel's union, field for field, so",
        "``sizeof`` is what the kernel expects; fields a kernel does not know must be zero",
        "(it answers E2BIG otherwise), which is how newer fields stay optional. C's",
        "anonymous unions are ``_anonymous_`` members: each of their names is an attribute.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import ctypes",
        "",
        "__all__ = [",
        *(f'    "{n}",' for n in names),
        "]",
        "",
        *(f"{alias} = {_CTYPES[alias]}" for alias in used),
        "",
        "",
        body,
    ]
    text = "\n".join(lines) + "\n"
    _verify(btf, _namespace(text, "<generated attrs>"))
    return text


def _verify(btf: BTF, ns: Any) -> None:
    """Check that ctypes lays every generated struct out at the kernel's offsets."""
    for spec in ATTRS:
        _same_layout(btf, _member_type(btf, spec), getattr(ns, spec.cls), spec.cls)


def _same_layout(btf: BTF, tid: int, ctype: Any, where: str) -> None:
    from pybpf.btf import Struct, Union

    t = btf.type(tid)
    assert isinstance(t, Struct | Union)
    if ctypes.sizeof(ctype) != t.size:
        raise AssertionError(f"{where}: ctypes size {ctypes.sizeof(ctype)}, kernel {t.size}")
    for m, (name, ftype, *bits) in zip(t.members, ctype._fields_, strict=True):
        desc = getattr(ctype, name)
        bit = desc.offset * 8 + (desc.size & 0xFFFF if bits else 0)
        if bit != m.bit_offset:
            raise AssertionError(f"{where}.{name}: ctypes bit {bit}, kernel {m.bit_offset}")
        if isinstance(ftype, type) and issubclass(ftype, ctypes.Structure | ctypes.Union):
            _same_layout(btf, btf.resolve(m.type), ftype, f"{where}.{name}")


def _flat(ctype: Any, base: int = 0, prefix: str = "") -> Iterator[tuple[str, int, int]]:
    """(dotted name, offset, size) of every scalar field of a ctypes struct or union."""
    for name, ftype, *_ in ctype._fields_:
        desc = getattr(ctype, name)
        path = f"{prefix}{name}"
        if isinstance(ftype, type) and issubclass(ftype, ctypes.Structure | ctypes.Union):
            sub = "" if name in getattr(ctype, "_anonymous_", ()) else f"{path}."
            yield from _flat(ftype, base + desc.offset, prefix + sub)
        else:
            yield path, base + desc.offset, desc.size


def _namespace(source: str, filename: str) -> Any:
    """The classes ``source`` defines, as attributes."""
    import types

    ns: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), ns)
    return types.SimpleNamespace(**ns)


def problems(btf: BTF, module: Any = None) -> list[str]:
    """Fields of the kernel's ``union bpf_attr`` members that ``module`` (default: the
    committed ``pybpf.sys.attrs``) lacks or lays out differently; [] when it fits."""
    if module is None:  # the committed file, read as text (uapi does not import sys)
        module = _namespace(OUTPUT.read_text(), str(OUTPUT))
    ns = _namespace(render(btf, "?"), "<kernel attrs>")
    out: list[str] = []
    for spec in ATTRS:
        committed = getattr(module, spec.cls, None)
        if committed is None:
            out.append(f"{spec.cls}: missing")
            continue
        have = {name: (off, size) for name, off, size in _flat(committed)}
        for name, off, size in _flat(getattr(ns, spec.cls)):
            got = have.get(name)
            if got is None:
                out.append(f"{spec.cls}.{name}: missing (the kernel has it at offset {off})")
            elif got != (off, size):
                out.append(f"{spec.cls}.{name}: at {got}, the kernel says {(off, size)}")
    return out


def _release() -> str:
    import os

    return ".".join(os.uname().release.split(".")[:2])


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print, write or check the generated module."""
    parser = argparse.ArgumentParser(prog="python -m pybpf.uapi.gen_attrs", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"rewrite {OUTPUT}")
    group.add_argument("--check", action="store_true", help="fail if it disagrees")
    parser.add_argument("--btf", default=None, help="BTF file (default: the running kernel's)")
    parser.add_argument("--release", default=None, help="kernel version for the header")
    args = parser.parse_args(argv)

    from pybpf.btf import BTF

    btf = BTF.from_file(args.btf) if args.btf else BTF.load_vmlinux()
    if args.check:
        found = problems(btf)
        for p in found:
            print(p, file=sys.stderr)
        return 1 if found else 0
    text = render(btf, args.release or _release())
    if args.write:
        OUTPUT.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

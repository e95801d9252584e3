"""Generate ``pybpf.uapi.enums`` from the running kernel's BTF.

Enums the kernel declares (``enum bpf_cmd``, ``enum bpf_map_type``, ...) are read
from ``/sys/kernel/btf/vmlinux`` with pybpf's own BTF reader, so the numbers are the
kernel's own. Flags the UAPI headers spell as ``#define`` are listed here by hand,
each citing its header. Usage::

    python -m pybpf.uapi.gen            # print the module
    python -m pybpf.uapi.gen --write    # rewrite src/pybpf/uapi/enums.py and enums.pyi
    python -m pybpf.uapi.gen --check    # exit 1 if the committed module is stale
"""

from __future__ import annotations

import argparse
import json
import keyword
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pybpf.btf import BTF, EnumValue

__all__ = ["DEFINES", "ENUMS", "DefineSpec", "EnumSpec", "collect", "main", "render", "render_stub"]

OUTPUT = Path(__file__).with_name("enums.py")
STUB = OUTPUT.with_suffix(".pyi")


@dataclass(frozen=True)
class EnumSpec:
    """One Python enum read from a kernel enum (named, or anonymous with ``anchor``)."""

    cls: str
    base: str  # "IntEnum" or "IntFlag"
    c_enum: str | None  # C enum name; None for an anonymous enum found by `anchor`
    prefix: str  # C prefix dropped from member names
    doc: str
    anchor: str | None = None  # a member naming the anonymous enum


@dataclass(frozen=True)
class DefineSpec:
    """One Python enum written by hand from ``#define`` constants of a UAPI header."""

    cls: str
    base: str
    header: str
    doc: str
    members: tuple[tuple[str, int], ...]


ENUMS: tuple[EnumSpec, ...] = (
    EnumSpec("Cmd", "IntEnum", "bpf_cmd", "BPF_", "Commands of bpf(2)."),
    EnumSpec("MapType", "IntEnum", "bpf_map_type", "BPF_MAP_TYPE_", "Map types."),
    EnumSpec("ProgType", "IntEnum", "bpf_prog_type", "BPF_PROG_TYPE_", "Program types."),
    EnumSpec("AttachType", "IntEnum", "bpf_attach_type", "BPF_", "Attach types."),
    EnumSpec("LinkType", "IntEnum", "bpf_link_type", "BPF_LINK_TYPE_", "Link types."),
    EnumSpec("FuncId", "IntEnum", "bpf_func_id", "BPF_FUNC_", "Helper function ids."),
    EnumSpec("BtfKind", "IntEnum", None, "BTF_KIND_", "Kinds of BTF types.", anchor="BTF_KIND_INT"),
    EnumSpec("BtfFuncLinkage", "IntEnum", "btf_func_linkage", "BTF_FUNC_", "BTF func linkage."),
    EnumSpec(
        "MapFlags",
        "IntFlag",
        None,
        "BPF_F_",
        "Flags of map_create (and obj_get file flags).",
        anchor="BPF_F_NO_PREALLOC",
    ),
    EnumSpec(
        "UpdateFlags",
        "IntFlag",
        None,
        "BPF_",
        "Flags of map element updates and lookups.",
        anchor="BPF_NOEXIST",
    ),
    EnumSpec(
        "KprobeMultiFlags",
        "IntFlag",
        None,
        "BPF_F_KPROBE_MULTI_",
        "Flags of kprobe_multi links.",
        anchor="BPF_F_KPROBE_MULTI_RETURN",
    ),
    EnumSpec(
        "UprobeMultiFlags",
        "IntFlag",
        None,
        "BPF_F_UPROBE_MULTI_",
        "Flags of uprobe_multi links.",
        anchor="BPF_F_UPROBE_MULTI_RETURN",
    ),
    EnumSpec("StatsType", "IntEnum", "bpf_stats_type", "BPF_STATS_", "enable_stats types."),
    EnumSpec("TaskFdType", "IntEnum", "bpf_task_fd_type", "BPF_FD_TYPE_", "task_fd_query."),
    EnumSpec(
        "PerfEventLinkType",
        "IntEnum",
        "bpf_perf_event_type",
        "BPF_PERF_EVENT_",
        "Kinds of perf_event link (link info).",
    ),
    EnumSpec(
        "CgroupIterOrder",
        "IntEnum",
        "bpf_cgroup_iter_order",
        "BPF_CGROUP_ITER_",
        "Walk orders of cgroup iterators.",
    ),
    EnumSpec("XdpAction", "IntEnum", "xdp_action", "XDP_", "XDP program return codes."),
    EnumSpec("SkAction", "IntEnum", "sk_action", "SK_", "Socket program return codes."),
    EnumSpec("PerfType", "IntEnum", "perf_type_id", "PERF_TYPE_", "perf_event_attr.type."),
    EnumSpec("PerfSwId", "IntEnum", "perf_sw_ids", "PERF_COUNT_SW_", "Software perf events."),
    EnumSpec("PerfHwId", "IntEnum", "perf_hw_id", "PERF_COUNT_HW_", "Hardware perf events."),
    EnumSpec(
        "PerfSampleFormat",
        "IntFlag",
        "perf_event_sample_format",
        "PERF_SAMPLE_",
        "perf_event_attr.sample_type bits.",
    ),
    EnumSpec(
        "PerfReadFormat",
        "IntFlag",
        "perf_event_read_format",
        "PERF_FORMAT_",
        "perf_event_attr.read_format bits.",
    ),
    EnumSpec(
        "PerfRecordType",
        "IntEnum",
        "perf_event_type",
        "PERF_RECORD_",
        "Record types in a perf ring buffer.",
    ),
)

# Constants that the UAPI headers define with #define, hence absent from BTF.
DEFINES: tuple[DefineSpec, ...] = (
    DefineSpec(
        "ProgFlags",
        "IntFlag",
        "include/uapi/linux/bpf.h (BPF_F_* of BPF_PROG_LOAD)",
        "Flags of prog_load (prog_flags).",
        (
            ("STRICT_ALIGNMENT", 1 << 0),
            ("ANY_ALIGNMENT", 1 << 1),
            ("TEST_RND_HI32", 1 << 2),
            ("TEST_STATE_FREQ", 1 << 3),
            ("SLEEPABLE", 1 << 4),
            ("XDP_HAS_FRAGS", 1 << 5),
            ("XDP_DEV_BOUND_ONLY", 1 << 6),
            ("TEST_REG_INVARIANTS", 1 << 7),
            ("TOKEN_FD", 1 << 16),
        ),
    ),
    DefineSpec(
        "AttachFlags",
        "IntFlag",
        "include/uapi/linux/bpf.h (BPF_F_* of BPF_PROG_ATTACH / mprog links)",
        "Flags of prog_attach and of multi-prog (tcx, netkit, cgroup) links.",
        (
            ("ALLOW_OVERRIDE", 1 << 0),
            ("ALLOW_MULTI", 1 << 1),
            ("REPLACE", 1 << 2),
            ("BEFORE", 1 << 3),
            ("AFTER", 1 << 4),
            ("ID", 1 << 5),
            ("LINK", 1 << 13),
        ),
    ),
    DefineSpec(
        "QueryFlags",
        "IntFlag",
        "include/uapi/linux/bpf.h (BPF_F_QUERY_EFFECTIVE)",
        "Flags of prog_query.",
        (("EFFECTIVE", 1 << 0),),
    ),
    DefineSpec(
        "TestRunFlags",
        "IntFlag",
        "include/uapi/linux/bpf.h (BPF_F_TEST_*)",
        "Flags of prog_test_run.",
        (
            ("RUN_ON_CPU", 1 << 0),
            ("XDP_LIVE_FRAMES", 1 << 1),
            ("SKB_CHECKSUM_COMPLETE", 1 << 2),
        ),
    ),
    DefineSpec(
        "NetfilterFlags",
        "IntFlag",
        "include/uapi/linux/bpf.h (BPF_F_NETFILTER_IP_DEFRAG)",
        "Flags of netfilter links.",
        (("IP_DEFRAG", 1 << 0),),
    ),
    DefineSpec(
        "XdpFlags",
        "IntFlag",
        "include/uapi/linux/if_link.h (XDP_FLAGS_*)",
        "XDP attach modes and flags (netlink and link_create).",
        (
            ("UPDATE_IF_NOEXIST", 1 << 0),
            ("SKB_MODE", 1 << 1),
            ("DRV_MODE", 1 << 2),
            ("HW_MODE", 1 << 3),
            ("REPLACE", 1 << 4),
        ),
    ),
    DefineSpec(
        "PseudoSrc",
        "IntEnum",
        "include/uapi/linux/bpf.h (BPF_PSEUDO_* of ld_imm64 src_reg)",
        "src_reg values of a 64-bit immediate load.",
        (
            ("MAP_FD", 1),
            ("MAP_VALUE", 2),
            ("BTF_ID", 3),
            ("FUNC", 4),
            ("MAP_IDX", 5),
            ("MAP_IDX_VALUE", 6),
        ),
    ),
    DefineSpec(
        "PseudoCall",
        "IntEnum",
        "include/uapi/linux/bpf.h (BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL)",
        "src_reg values of a call instruction.",
        (("HELPER", 0), ("CALL", 1), ("KFUNC_CALL", 2)),
    ),
    DefineSpec(
        "PerfFlag",
        "IntFlag",
        "include/uapi/linux/perf_event.h (PERF_FLAG_*)",
        "Flags of perf_event_open(2).",
        (
            ("FD_NO_GROUP", 1 << 0),
            ("FD_OUTPUT", 1 << 1),
            ("PID_CGROUP", 1 << 2),
            ("FD_CLOEXEC", 1 << 3),
        ),
    ),
)

# Scalar constants (#define) of the UAPI, written as module-level names.
CONSTANTS: tuple[tuple[str, int, str], ...] = (
    ("OBJ_NAME_LEN", 16, "BPF_OBJ_NAME_LEN: bytes of a map/prog name, NUL included"),
    ("TAG_SIZE", 8, "BPF_TAG_SIZE: bytes of a program tag"),
    ("BUILD_ID_SIZE", 20, "BPF_BUILD_ID_SIZE"),
    ("LOG_BUF_SIZE_MAX", (1 << 32) - 1 >> 2, "UINT_MAX >> 2: largest verifier log buffer"),
)


def _skip(raw: str, stripped: str) -> bool:
    """Sentinels such as ``__MAX_BPF_CMD``, ``NR_BTF_KINDS`` or ``PERF_TYPE_MAX``."""
    return raw.startswith(("__", "MAX_", "NR_")) or stripped == "MAX" or not stripped


def _values(btf: BTF, tid: int) -> Sequence[EnumValue]:
    from pybpf.btf import Enum, Enum64

    t = btf.type(tid)
    if not isinstance(t, Enum | Enum64):
        raise TypeError(f"BTF type {tid} is not an enum")
    return t.values


def _enum_members(btf: BTF, spec: EnumSpec) -> list[tuple[str, int]]:
    from pybpf.btf import Kind

    if spec.c_enum is not None:
        ids = [*btf.find(spec.c_enum, Kind.ENUM), *btf.find(spec.c_enum, Kind.ENUM64)]
        if not ids:
            raise LookupError(f"kernel BTF has no enum {spec.c_enum}")
        values = _values(btf, ids[0])
    else:
        assert spec.anchor is not None
        found = _anonymous_enum(btf, spec.anchor)
        if found is None:
            raise LookupError(f"kernel BTF has no anonymous enum with {spec.anchor}")
        values = found
    out: list[tuple[str, int]] = []
    for v in values:
        if not v.name.startswith(spec.prefix):
            continue
        name = v.name[len(spec.prefix) :]
        if _skip(v.name, name):
            continue
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"{v.name} does not make a Python name")
        value = int(v.value)
        # make the current name canonical over a *_DEPRECATED alias of the same value
        at = next((i for i, (n, x) in enumerate(out) if x == value), None)
        if at is not None and out[at][0].endswith("_DEPRECATED"):
            out.insert(at, (name, value))
        else:
            out.append((name, value))
    return out


def _anonymous_enum(btf: BTF, anchor: str) -> Sequence[EnumValue] | None:
    from pybpf.btf import Kind

    kinds = (Kind.ENUM, Kind.ENUM64)
    for tid in range(btf.start_id, btf.start_id + btf.type_count):
        if btf.kind_of(tid) in kinds:
            values = _values(btf, tid)
            if any(v.name == anchor for v in values):
                return list(values)
    return None


def collect(btf: BTF) -> dict[str, list[tuple[str, int]]]:
    """Map each generated class name to its (member, value) pairs, read from ``btf``."""
    return {spec.cls: _enum_members(btf, spec) for spec in ENUMS}


def _class(name: str, base: str, doc: str, members: Iterable[tuple[str, int]]) -> list[str]:
    lines = [f"class {name}({base}):", f'    """{doc}"""', ""]
    for member, value in members:
        lines.append(f"    {member} = {value}")
    return lines


def _classes(btf: BTF) -> list[tuple[str, str, str, list[tuple[str, int]]]]:
    """Every generated class: (name, base, docstring, members), in module order."""
    data = collect(btf)
    out: list[tuple[str, str, str, list[tuple[str, int]]]] = []
    for spec in ENUMS:
        c_name = f"enum {spec.c_enum}" if spec.c_enum else f"anonymous enum with {spec.anchor}"
        out.append((spec.cls, spec.base, f"{spec.doc[:-1]} (``{c_name}``).", data[spec.cls]))
    for d in DEFINES:
        out.append((d.cls, d.base, f"{d.doc[:-1]} (#define in {d.header}).", list(d.members)))
    return out


def _header(what: str) -> list[str]:
    lines = [
        "# Generated by `python -m pybpf.uapi.gen --write` from the running kernel's BTF",
        "# (/sys/kernel/btf/vmlinux) plus the #define flags listed in pybpf/uapi/gen.py.",
        "# Do not edit by hand: regenerate instead.",
        f'"""{what}"""',
        "",
        "from __future__ import annotations",
        "",
    ]
    return lines


def _all() -> list[str]:
    names = [s.cls for s in ENUMS] + [d.cls for d in DEFINES] + [c[0] for c in CONSTANTS]
    names.sort(key=lambda n: (not n.isupper(), n))  # the order ruff's RUF022 wants
    return ["__all__ = [", *(f'    "{n}",' for n in names), "]", ""]


def _q(text: str) -> str:
    """``text`` as a double-quoted Python string literal."""
    return json.dumps(text)


_LAZY = """


def _build(name: str) -> type[IntEnum] | type[IntFlag]:
    base, doc, members = _TABLE[name]
    if _simple_enum is None:
        cls = base(name, members, module=__name__, qualname=name)
        cls.__doc__ = doc
        return cls
    body: dict[str, object] = dict(members)
    body.update(__doc__=doc, __module__=__name__, __qualname__=name)
    return _simple_enum(base)(type(name, (), body))  # type: ignore[no-any-return]


def __getattr__(name: str) -> type[IntEnum] | type[IntFlag]:
    \"\"\"Build the enum class ``name`` on first use (once per process, under a lock).\"\"\"
    if name not in _TABLE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:
        cls = globals().get(name)
        if cls is None:
            cls = globals()[name] = _build(name)
    return cls


def __dir__() -> list[str]:
    return sorted({*globals(), *_TABLE})
"""


def render(btf: BTF) -> str:
    """Return the source text of ``pybpf.uapi.enums`` for the kernel described by ``btf``.

    Each enum class is built from its member table on first access (module
    ``__getattr__``): creating the ~580 members costs milliseconds that a process
    using a few classes need not pay. ``enums.pyi`` (:func:`render_stub`) spells the
    same classes out for type checkers and readers.
    """
    lines = _header(
        "BPF UAPI numbers as Python enums (generated; see ``pybpf.uapi.gen``).\n\n"
        "Each class is built on first access from the tables below (``enums.pyi`` spells\n"
        "them out as classes); ``pybpf.uapi.enums.Cmd`` and\n"
        "``from pybpf.uapi.enums import Cmd`` give the same class every time.\n"
    )
    lines.insert(3, "# ruff: noqa: F822 (the classes in __all__ are made by __getattr__)")
    lines += ["from _thread import allocate_lock", "from enum import IntEnum, IntFlag", ""]
    lines += _all()
    for const, value, comment in CONSTANTS:
        lines.append(f"{const} = {value}  # {comment}")
    lines += ["", "_lock = allocate_lock()", ""]
    lines += [
        "try:  # the stdlib's own fast path for its enums (re, http): 2-3x quicker to build",
        "    from enum import _simple_enum  # type: ignore[attr-defined]",
        "except ImportError:  # pragma: no cover - a Python without it: the functional API",
        "    _simple_enum = None",
        "",
    ]
    lines.append(
        "_TABLE: dict[str, tuple[type[IntEnum] | type[IntFlag], str, tuple[tuple[str, int], ...]]]"
        " = {"
    )
    for name, base, doc, members in _classes(btf):
        lines += [f"    {_q(name)}: (", f"        {base},", f"        {_q(doc)},"]
        pairs = [f"({_q(m)}, {v})," for m, v in members]
        if len(pairs) == 1:  # as ruff format writes it
            lines.append(f"        ({pairs[0]}),")
        else:
            lines += ["        (", *(f"            {p}" for p in pairs), "        ),"]
        lines.append("    ),")
    lines.append("}")
    text = "\n".join(lines) + _LAZY
    return text


def render_stub(btf: BTF) -> str:
    """Return the source text of ``pybpf/uapi/enums.pyi``: the classes spelt out."""
    lines = _header("BPF UAPI numbers as Python enums (type stub of the generated module).")
    lines += ["from enum import IntEnum, IntFlag", ""]
    lines += _all()
    for const, value, comment in CONSTANTS:
        lines.append(f"{const} = {value}  # {comment}")
    for name, base, doc, members in _classes(btf):
        lines.append("")  # stub spacing, as ruff format writes it
        lines += _class(name, base, doc, members)
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print, write or check the generated module."""
    parser = argparse.ArgumentParser(prog="python -m pybpf.uapi.gen", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"rewrite {OUTPUT}")
    group.add_argument("--check", action="store_true", help="fail if the module is stale")
    parser.add_argument("--btf", default=None, help="BTF file (default: the running kernel's)")
    args = parser.parse_args(argv)

    from pybpf.btf import BTF

    btf = BTF.from_file(args.btf) if args.btf else BTF.load_vmlinux()
    outputs = ((OUTPUT, render(btf)), (STUB, render_stub(btf)))
    if args.write:
        for path, text in outputs:
            path.write_text(text)
    elif args.check:
        for path, text in outputs:
            if not path.exists() or path.read_text() != text:
                print(f"{path} is stale; run python -m pybpf.uapi.gen --write", file=sys.stderr)
                return 1
    else:
        sys.stdout.write(outputs[0][1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Fuzz targets for the readers, shared by ``scripts/fuzz.py`` and the regression test.

An input is one selector byte followed by the payload; the selector picks the
reader (``TARGETS[data[0] % len(TARGETS)]``). A target may raise only
:class:`pybpf.errors.BPFError`; anything else, or a ``BPFError`` that merely
wraps an unexpected Python exception (``raise ... from exc``), is a finding.

Example::

    from fuzz_targets import run_one, seed_inputs
    for name, data in seed_inputs(Path("build/bpf")):
        run_one(data)
"""

from __future__ import annotations

import contextlib
import dataclasses
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pybpf.errors import BPFError, ObjectError

TARGETS = ("spec", "btf", "btf_ext", "disasm", "cdump", "layout")

# Layout values are built per element: only types up to this size get a zero
# value and a decode (a 4 GiB array is legal BTF and legitimately slow to build).
LAYOUT_VALUE_LIMIT = 1 << 12
# How many type ids of one blob the BTF/layout targets walk.
TYPE_WALK_LIMIT = 64

# The usual exceptions of a reader that did not check something (when they escape,
# or are the direct cause of a BPFError: a blanket translation); any other
# non-pybpf exception counts too.
UNTYPED = (
    MemoryError,
    RecursionError,
    UnicodeError,
    struct.error,
    IndexError,
    KeyError,
    ValueError,
    TypeError,
    OverflowError,
    AssertionError,
    AttributeError,
    ZeroDivisionError,
)


class Finding(Exception):
    """An input made a reader fail in a way other than a pybpf error."""


def _split_ext(payload: bytes) -> tuple[bytes, bytes]:
    """``btf_ext`` payloads are ``u32 len(btf) | btf | ext``."""
    if len(payload) < 4:
        return payload, b""
    (n,) = struct.unpack_from("<I", payload)
    return payload[4 : 4 + n], payload[4 + n :]


def pack_ext(btf: bytes, ext: bytes) -> bytes:
    """The ``btf_ext`` payload for a BTF blob and its ``.BTF.ext``."""
    return struct.pack("<I", len(btf)) + btf + ext


def _walk_btf(b: object) -> None:
    from pybpf.btf.dump import format_raw
    from pybpf.btf.reader import BTF

    assert isinstance(b, BTF)
    for tid in range(1, min(len(b), TYPE_WALK_LIMIT)):
        for op in (b.type, b.type_name, b.size_of, b.align_of, b.resolve, b.name_of):
            with contextlib.suppress(BPFError):
                op(tid)
        with contextlib.suppress(BPFError):
            format_raw(b, tid)
    with contextlib.suppress(BPFError):
        b.find("task_struct")


def _target_spec(payload: bytes) -> None:
    import pybpf

    obj = pybpf.open(payload)
    try:
        obj.spec.summary()
    finally:
        obj.close()


def _target_btf(payload: bytes) -> None:
    from pybpf.btf.reader import BTF

    b = BTF.from_bytes(payload)
    _walk_btf(b)
    b.encode()


def _target_btf_ext(payload: bytes) -> None:
    from pybpf.btf.ext import BTFExt
    from pybpf.btf.reader import BTF

    raw, ext = _split_ext(payload)
    b = BTF.from_bytes(raw)
    e = BTFExt.from_bytes(ext, b)
    for recs in e.core_relos.values():
        for r in recs:
            _ = r.access_spec


def _target_disasm(payload: bytes) -> None:
    from pybpf.asm.annotate import btf_annotations
    from pybpf.asm.disasm import disassemble
    from pybpf.elf.reader import ElfObject

    obj = ElfObject.from_bytes(payload, file="fuzz.o")
    ann = btf_annotations(obj, strict=False)  # source lines and CO-RE texts from .BTF.ext
    disassemble(obj, relocs=True, alu32=True, source=ann.source, core=ann.core)


def _target_cdump(payload: bytes) -> None:
    from pybpf.btf.cdump import dump_c
    from pybpf.btf.cdump.decl import output_limit
    from pybpf.btf.reader import BTF

    b = BTF.from_bytes(payload)
    text = dump_c(b)
    if len(text) > output_limit(len(b.data)):
        raise Finding(f"cdump: {len(text)} characters from {len(payload)} bytes of BTF")


def _target_layout(payload: bytes) -> None:
    from pybpf.btf.layout import Layout
    from pybpf.btf.reader import BTF

    b = BTF.from_bytes(payload)
    for tid in range(1, min(len(b), TYPE_WALK_LIMIT)):
        try:
            lay = Layout.for_type(b, tid)
            if b.size_of(tid) > LAYOUT_VALUE_LIMIT:
                continue
            zero = lay.zero()
            raw = lay.encode(zero)
            lay.decode(raw)
            repr(lay)
        except BPFError:
            pass


_RUN = {
    "spec": _target_spec,
    "btf": _target_btf,
    "btf_ext": _target_btf_ext,
    "disasm": _target_disasm,
    "cdump": _target_cdump,
    "layout": _target_layout,
}


def target_of(data: bytes) -> str:
    """The name of the target an input goes to."""
    return TARGETS[data[0] % len(TARGETS)] if data else "spec"


def run_one(data: bytes) -> None:
    """Feed one input to its target; raise :class:`Finding` unless it passes or raises a
    pybpf error that is not a blanket translation of an unexpected exception."""
    target = target_of(data)
    try:
        _RUN[target](data[1:])
    except BPFError as exc:
        cause = exc.__cause__
        if isinstance(exc, ObjectError) and exc.unexpected:
            raise Finding(
                f"{target}: {type(exc).__name__} wraps {type(cause).__name__}: {cause}"
            ) from exc
    except Finding:
        raise
    except Exception as exc:  # UNTYPED and anything else that is not a pybpf error
        raise Finding(f"{target}: untyped {type(exc).__name__}: {exc}") from exc


# ---------------------------------------------------------------- seeds


def _btf_blobs(obj: bytes) -> tuple[bytes | None, bytes | None]:
    from pybpf.btf.elfsec import btf_sections

    try:
        return btf_sections(obj)
    except BPFError:
        return None, None


def seed_inputs(objdir: Path, *, kernel_slices: bool = True) -> Iterator[tuple[str, bytes]]:
    """Seed corpus: every test object for spec/disasm, its BTF for btf/cdump/layout,
    its BTF + .BTF.ext for btf_ext, and small slices of the kernel's BTF."""
    sel = {name: bytes([i]) for i, name in enumerate(TARGETS)}
    for path in sorted(objdir.glob("*.o")):
        data = path.read_bytes()
        stem = path.name.split(".", 1)[0]
        yield f"spec-{stem}", sel["spec"] + data
        yield f"disasm-{stem}", sel["disasm"] + data
        raw, ext = _btf_blobs(data)
        if raw is None:
            continue
        for t in ("btf", "cdump", "layout"):
            yield f"{t}-{stem}", sel[t] + raw
        if ext is not None:
            yield f"btf_ext-{stem}", sel["btf_ext"] + pack_ext(raw, ext)
    if kernel_slices:
        for root, blob in kernel_btf_slices():
            for t in ("btf", "cdump", "layout"):
                yield f"{t}-vmlinux-{root}", sel[t] + blob


# Kernel types whose closures make small, varied BTF (bitfields, unions, enums,
# function pointers, flexible arrays, enum64 where the kernel has it).
SLICE_ROOTS = (
    "sk_buff",
    "bpf_attr",
    "file_operations",
    "iphdr",
    "bpf_func_id",
    "xdp_md",
    "pt_regs",
    "tcphdr",
    "bpf_prog_aux",
    "perf_event_attr",
)


def kernel_btf_slices(limit: int = 250) -> Iterator[tuple[str, bytes]]:
    """Self-contained BTF blobs of a few kernel types and what they reference
    (pointers to structs leave the slice as ``void *``), at most ``limit`` types each."""
    from pybpf.btf import types as T
    from pybpf.btf.encode import StringTable, encode_type
    from pybpf.btf.reader import BTF

    try:
        k = BTF.load_vmlinux(cache=False)
    except (BPFError, OSError):
        return
    for root in SLICE_ROOTS:
        ids = k.find(root)
        if not ids:
            continue
        order: list[int] = []
        seen: dict[int, int] = {}
        todo = [ids[0]]
        while todo and len(order) < limit:
            tid = todo.pop()
            if tid == 0 or tid in seen:
                continue
            seen[tid] = len(order) + 1
            order.append(tid)
            t = k.type(tid)
            for ref in _refs(t):
                tgt = k.type(ref) if ref else None
                if isinstance(t, T.Ptr) and isinstance(tgt, T.Struct | T.Union):
                    continue
                todo.append(ref)
        strings = StringTable()
        words: list[int] = []
        remap = seen.get
        for tid in order:
            t = _remap(k.type(tid), lambda r, remap=remap: remap(r, 0))  # type: ignore[misc]
            words += encode_type(t, strings)
        types = struct.pack(f"<{len(words)}I", *words)
        strs = bytes(strings.buf)
        hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
        yield root, hdr + types + strs


def _refs(t: object) -> list[int]:
    from pybpf.btf import types as T

    if isinstance(t, T.Array):
        return [t.type, t.index_type]
    if isinstance(t, T.Struct | T.Union):
        return [m.type for m in t.members]
    if isinstance(t, T.FuncProto):
        return [t.return_type, *(p.type for p in t.params)]
    if isinstance(t, T.Datasec):
        return [v.type for v in t.vars]
    ref = getattr(t, "type", None)
    return [ref] if isinstance(ref, int) else []


def _remap(t: Any, m: Callable[[int], int]) -> Any:
    from pybpf.btf import types as T

    if isinstance(t, T.Array):
        return dataclasses.replace(t, type=m(t.type), index_type=m(t.index_type))
    if isinstance(t, T.Struct | T.Union):
        return dataclasses.replace(
            t, members=tuple(dataclasses.replace(x, type=m(x.type)) for x in t.members)
        )
    if isinstance(t, T.FuncProto):
        return dataclasses.replace(
            t,
            return_type=m(t.return_type),
            params=tuple(dataclasses.replace(p, type=m(p.type)) for p in t.params),
        )
    if isinstance(t, T.Datasec):
        return dataclasses.replace(
            t, vars=tuple(dataclasses.replace(v, type=m(v.type)) for v in t.vars)
        )
    if isinstance(getattr(t, "type", None), int):
        return dataclasses.replace(t, type=m(t.type))  # type: ignore[call-arg]
    return t

"""Dump BTF as a compilable C header (``vmlinux.h``), as ``bpftool btf dump ... format c``.

Each type is first ordered (a depth-first walk that queues named definitions after
everything they embed) and then emitted, with forward declarations wherever a
pointer cycle needs one. The rules follow libbpf's btf_dump as shipped in Debian's
bpftool 7.1 (Linux 6.1.y's libbpf: current padding and packed rules, ``(void)`` for
empty parameter lists, no ``mode(byte)``/``mode(word)`` on odd-sized enums) so the
output is byte-identical to it; ``kfuncs=True`` adds the kfunc prototypes and the
``__ksym``/``__weak``/``__bpf_fastcall`` fallbacks that bpftool 7.5+ writes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pybpf.btf.cdump.decl import DeclWriter, output_limit
from pybpf.btf.cdump.layout import Layout, pointer_size
from pybpf.btf.reader import BTF
from pybpf.btf.types import (
    VOID,
    Array,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Func,
    FuncProto,
    Fwd,
    Kind,
    Struct,
    Type,
    Typedef,
    Union,
)
from pybpf.errors import BTFError

__all__ = ["dump_c", "kfunc_ids"]

# Order states.
_NOT_ORDERED, _ORDERING, _ORDERED = 0, 1, 2
# Emit states.
_NOT_EMITTED, _EMITTING, _EMITTED = 0, 1, 2

KFUNC_TAG = "bpf_kfunc"
FASTCALL_TAG = "bpf_fastcall"

# Fallbacks for old compilers, where GCC's internal ARM SIMD types leak into BTF.
_MISSING_BASE_TYPES = {
    "__Poly8_t": "unsigned char",
    "__Poly16_t": "unsigned short",
    "__Poly64_t": "unsigned long long",
    "__Poly128_t": "unsigned __int128",
}

_RECURSION_LIMIT = 20000
_PASS_THROUGH = frozenset((Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG))
_NEVER_EMITTED = frozenset((Kind.FUNC, Kind.VAR, Kind.DATASEC, Kind.DECL_TAG))


def _referenced(types: list[Type], where: str) -> bytearray:
    """1 for every type id some other type refers to (tells top-level anon enums).

    Also rejects references to ids past the last type, naming the referrer.
    """
    n = len(types)
    ref = bytearray(n)
    for tid, t in enumerate(types):
        if isinstance(t, Struct | Union):
            ids = [m.type for m in t.members]
        elif isinstance(t, FuncProto):
            ids = [p.type for p in t.params]
            if t.return_type >= n:
                ids.append(t.return_type)
        elif isinstance(t, Array):
            ids = [t.index_type, t.type]
        elif isinstance(t, Datasec):
            ids = [v.type for v in t.vars]
        elif hasattr(t, "type"):
            ids = [t.type]
        else:
            continue
        for i in ids:
            if i >= n:
                raise BTFError(
                    f"type [{tid}] ({t.kind.name}) refers to type [{i}], past the last type",
                    section=where,
                )
            ref[i] = 1
    return ref


class _CDumper:
    """One pass over a BTF: ordering state, emit state and the declaration writer."""

    def __init__(self, btf: BTF) -> None:
        self.btf = btf
        n = btf.type_count
        self.types: list[Type] = [VOID] + [btf.type(i) for i in range(1, n)]
        self.kinds = [t.kind for t in self.types]
        self.layout = Layout(self.types, pointer_size(self.types) or 8)
        self.w = DeclWriter(
            self.types, self.layout, btf.name, limit=output_limit(len(btf.data)), file=btf.file
        )
        self.referenced = _referenced(self.types, btf.name)
        self.order_state = bytearray(n)
        self.emit_state = bytearray(n)
        self.fwd_emitted = bytearray(n)
        self.order_state[0] = _ORDERED
        self.emit_state[0] = _EMITTED
        self.queue: list[int] = []

    def _error(self, message: str) -> BTFError:
        return BTFError(message, file=self.btf.file, section=self.btf.name)

    def dump_type(self, tid: int) -> None:
        """Emit ``tid`` and every type it depends on that was not emitted yet."""
        self.queue = []
        self.order(tid, False)
        for q in self.queue:
            self.emit(q, 0)

    # ------------------------------------------------------------------ ordering

    def order(self, tid: int, through_ptr: bool) -> bool:
        """Queue named definitions in dependency order; True for a strong link."""
        state = self.order_state[tid]
        if state == _ORDERED:
            return True
        t = self.types[tid]
        k = self.kinds[tid]
        if state == _ORDERING:
            if k in (Kind.STRUCT, Kind.UNION) and through_ptr and t.name:
                return False
            raise self._error(f"unsatisfiable type cycle at type [{tid}] {t.name!r}")
        if k == Kind.INT or k == Kind.FLOAT:
            self.order_state[tid] = _ORDERED
            return False
        if k == Kind.PTR:
            strong = self.order(t.type, True)  # type: ignore[union-attr]
            self.order_state[tid] = _ORDERED
            return strong
        if k == Kind.ARRAY:
            return self.order(t.type, False)  # type: ignore[union-attr]
        if k == Kind.STRUCT or k == Kind.UNION:
            if through_ptr and t.name:
                return False
            self.order_state[tid] = _ORDERING
            for m in t.members:  # type: ignore[union-attr]
                self.order(m.type, False)
            if t.name:
                self.queue.append(tid)
            self.order_state[tid] = _ORDERED
            return True
        if k == Kind.ENUM or k == Kind.ENUM64 or k == Kind.FWD:
            if t.name or not self.referenced[tid]:
                self.queue.append(tid)
            self.order_state[tid] = _ORDERED
            return True
        if k == Kind.TYPEDEF:
            strong = self.order(t.type, through_ptr)  # type: ignore[union-attr]
            if through_ptr and not strong:
                return False
            self.queue.append(tid)
            self.order_state[tid] = _ORDERED
            return True
        if k in _PASS_THROUGH:
            return self.order(t.type, through_ptr)  # type: ignore[union-attr]
        if isinstance(t, FuncProto):
            strong = self.order(t.return_type, through_ptr)
            for p in t.params:
                if self.order(p.type, through_ptr):
                    strong = True
            return strong
        if k in _NEVER_EMITTED:
            self.order_state[tid] = _ORDERED
            return False
        raise self._error(f"type [{tid}] has kind {k.name}, which C cannot express")

    # ------------------------------------------------------------------ emitting

    def emit(self, tid: int, cont_id: int) -> None:
        """Emit ``tid``'s definition (top level when ``cont_id`` is 0) or what it needs."""
        state = self.emit_state[tid]
        if state == _EMITTED:
            return
        t = self.types[tid]
        k = self.kinds[tid]
        w = self.w
        out = w.out
        if state == _EMITTING:
            if self.fwd_emitted[tid]:
                return
            if isinstance(t, Struct | Union):
                if tid == cont_id or not t.name:
                    return  # inside its own definition, or an anonymous loop
                w.struct_fwd(tid, t)
                out.append(";\n\n")
                self.fwd_emitted[tid] = 1
            elif isinstance(t, Typedef):
                if t.name != "__builtin_va_list":
                    w.typedef_def(tid, t, 0)
                    out.append(";\n\n")
                self.fwd_emitted[tid] = 1
            return
        if k == Kind.INT:
            name = w.type_name(tid)
            alias = _MISSING_BASE_TYPES.get(name)
            if alias is not None:
                out.append(f"typedef {alias} {name};\n\n")
            self.emit_state[tid] = _EMITTED
        elif isinstance(t, Enum | Enum64):
            if cont_id == 0:
                w.enum_def(tid, t, 0)
                out.append(";\n\n")
            self.emit_state[tid] = _EMITTED
        elif k == Kind.PTR or k in _PASS_THROUGH or k == Kind.ARRAY:
            self.emit(t.type, cont_id)  # type: ignore[union-attr]
        elif isinstance(t, Fwd):
            w.fwd_def(tid, t)
            out.append(";\n\n")
            self.emit_state[tid] = _EMITTED
        elif isinstance(t, Typedef):
            self.emit_state[tid] = _EMITTING
            self.emit(t.type, tid)
            if not self.fwd_emitted[tid] and t.name != "__builtin_va_list":
                w.typedef_def(tid, t, 0)
                out.append(";\n\n")
            self.emit_state[tid] = _EMITTED
        elif isinstance(t, Struct | Union):
            self.emit_state[tid] = _EMITTING
            if cont_id == 0 or not t.name:
                inner = tid if t.name else cont_id
                for m in t.members:
                    self.emit(m.type, inner)
            elif not self.fwd_emitted[tid] and tid != cont_id:
                w.struct_fwd(tid, t)
                out.append(";\n\n")
                self.fwd_emitted[tid] = 1
            if cont_id == 0:
                w.struct_def(tid, t, 0)
                out.append(";\n\n")
                self.emit_state[tid] = _EMITTED
            else:
                self.emit_state[tid] = _NOT_EMITTED
        elif isinstance(t, FuncProto):
            self.emit(t.return_type, cont_id)
            for p in t.params:
                self.emit(p.type, cont_id)

    # ------------------------------------------------------------------ kfuncs

    def kfunc_block(self) -> None:
        """``extern`` prototypes of every kfunc, sorted by name (bpftool 7.5+)."""
        out = self.w.out
        out.append("\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n")
        kfuncs, fastcalls = _tagged_funcs(self.types)
        for fid in sorted(
            kfuncs, key=lambda i: self.types[i].name.encode("utf-8", "surrogateescape")
        ):
            f = self.types[fid]
            assert isinstance(f, Func)
            out.append("extern ")
            if fid in fastcalls:
                out.append("__bpf_fastcall ")
            self.w.type_decl(f.type, f.name, 0)
            out.append(" __weak __ksym;\n")
        out.append("#endif\n\n")


def _tagged_funcs(types: list[Type]) -> tuple[list[int], set[int]]:
    """FUNC ids tagged ``bpf_kfunc`` (once per tag) and those tagged ``bpf_fastcall``."""
    kfuncs: list[int] = []
    fastcalls: set[int] = set()
    for t in types:
        if not isinstance(t, DeclTag) or t.component_idx != -1:
            continue
        if not isinstance(types[t.type], Func):
            continue
        if t.name == KFUNC_TAG:
            kfuncs.append(t.type)
        elif t.name == FASTCALL_TAG:
            fastcalls.add(t.type)
    return kfuncs, fastcalls


def kfunc_ids(btf: BTF) -> list[int]:
    """Ids of the FUNCs that carry a ``bpf_kfunc`` declaration tag."""
    types: list[Type] = [VOID] + [btf.type(i) for i in range(1, btf.type_count)]
    return sorted(set(_tagged_funcs(types)[0]))


@contextmanager
def _recursion_room(limit: int) -> Iterator[None]:
    old = sys.getrecursionlimit()
    if old < limit:
        sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _prologue(guard: str, kfuncs: bool) -> str:
    text = (
        f"#ifndef {guard}\n#define {guard}\n\n"
        "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
        "#pragma clang attribute push (__attribute__((preserve_access_index)),"
        " apply_to = record)\n#endif\n\n"
    )
    if kfuncs:
        text += (
            "#ifndef __ksym\n"
            '#define __ksym __attribute__((section(".ksyms")))\n'
            "#endif\n\n"
            "#ifndef __weak\n"
            "#define __weak __attribute__((weak))\n"
            "#endif\n\n"
            "#ifndef __bpf_fastcall\n"
            "#if __has_attribute(bpf_fastcall)\n"
            "#define __bpf_fastcall __attribute__((bpf_fastcall))\n"
            "#else\n"
            "#define __bpf_fastcall\n"
            "#endif\n"
            "#endif\n\n"
        )
    return text


def dump_c(btf: BTF, *, kfuncs: bool = True, header_guard: str = "__VMLINUX_H__") -> str:
    """The whole BTF as a C header, like ``bpftool btf dump file F format c``.

    With ``kfuncs`` the header also declares every kfunc as a weak ``__ksym``
    extern (inside ``#ifndef BPF_NO_KFUNC_PROTOTYPES``), as bpftool 7.5+ does;
    without it the output matches bpftool 7.1 byte for byte. Raises BTFError for
    BTF that C cannot express (e.g. a struct that embeds itself).
    """
    d = _CDumper(btf)
    out = d.w.out
    out.append(_prologue(header_guard, kfuncs))
    with _recursion_room(_RECURSION_LIMIT):
        try:
            for tid in range(1, btf.type_count):
                d.dump_type(tid)
                d.w.check_size()
            if kfuncs:
                d.kfunc_block()
        except RecursionError as exc:
            raise BTFError(
                "type references loop without passing through a struct or union"
                f" (or nest deeper than {_RECURSION_LIMIT // 2} levels)",
                file=btf.file,
                section=btf.name,
            ) from exc
    out.append(
        "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
        f"#endif /* {header_guard} */\n"
    )
    return "".join(out)

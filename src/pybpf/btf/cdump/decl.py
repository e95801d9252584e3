"""C declarator syntax for BTF type chains (the part of the C dump that spells types).

A declaration is built from the innermost type outwards: modifiers go left of
base types but right of ``*``, arrays and function prototypes wrap what is inside
them in parentheses. :class:`DeclWriter` holds the output buffer and the name
tables shared with :mod:`pybpf.btf.cdump`, which drives it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pybpf.btf.cdump.layout import Layout
from pybpf.btf.types import (
    Array,
    Enum,
    Enum64,
    FuncProto,
    Fwd,
    Kind,
    Struct,
    Type,
    Typedef,
    Union,
)
from pybpf.errors import BTFError

__all__ = ["MAX_GAP_BITS", "DeclWriter", "output_limit", "pfx"]

# Largest hole between members (or before the end) written as padding: real
# kernels' largest struct is a few hundred KiB; this bounds bogus BTF's output.
MAX_GAP_BITS = 8 << 24
# Bound of the whole header: a kernel's vmlinux.h is about half its BTF's size,
# but padding and inlined anonymous types let a few KiB of crafted BTF expand
# without end (one anonymous struct used by many members, nested).
_OUTPUT_BASE = 4 << 20
_OUTPUT_PER_BTF_BYTE = 4


def output_limit(btf_size: int) -> int:
    """Most characters the C dump of ``btf_size`` bytes of BTF may have."""
    return _OUTPUT_BASE + _OUTPUT_PER_BTF_BYTE * btf_size


_MAX_INDENT = 13
_TABS = ["\t" * i for i in range(_MAX_INDENT + 1)]

_MODS = frozenset((Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG))
_CHAIN_NEXT = frozenset(
    (Kind.PTR, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.FUNC_PROTO, Kind.TYPE_TAG)
)
_TERMINAL = frozenset(
    (
        Kind.INT,
        Kind.ENUM,
        Kind.ENUM64,
        Kind.FWD,
        Kind.STRUCT,
        Kind.UNION,
        Kind.TYPEDEF,
        Kind.FLOAT,
    )
)
_MOD_WORD = {Kind.VOLATILE: "volatile ", Kind.CONST: "const ", Kind.RESTRICT: "restrict "}


def pfx(lvl: int) -> str:
    """Indentation for nesting level ``lvl`` (capped like libbpf at 13 tabs)."""
    return _TABS[min(lvl, _MAX_INDENT)]


class DeclWriter:
    """Writes type declarations, record and enum bodies into ``out``.

    Duplicate names get a ``___N`` suffix in the order they are first written,
    exactly as libbpf does: records, enums (and ints) share one namespace,
    typedefs and enumerators another.
    """

    def __init__(
        self,
        types: Sequence[Type],
        layout: Layout,
        where: str = ".BTF",
        *,
        limit: int = output_limit(0),
        file: str | None = None,
    ) -> None:
        self.types = types
        self.where = where
        self.file = file
        self.kinds = [t.kind for t in types]
        self.layout = layout
        self.ptr_size = layout.ptr_size
        self.out: list[str] = []
        self.limit = limit
        self._size = 0  # characters in out[: self._mark]
        self._mark = 0
        self._resolved: dict[int, str] = {}
        self.type_names: dict[str, int] = {}
        self.ident_names: dict[str, int] = {}

    def check_size(self, more: int = 0) -> None:
        """Raise BTFError once the output (plus ``more`` characters about to be
        written) passes ``limit``; cheap: counts only pieces added since the last call."""
        out = self.out
        if not more and len(out) - self._mark < 64:
            return
        self._size += sum(map(len, out[self._mark :]))
        self._mark = len(out)
        if self._size + more > self.limit:
            raise BTFError(
                f"the C header would exceed {self.limit} characters (the BTF holds "
                "implausible padding or anonymous types nested and reused without end); "
                "check that the BTF is not corrupt",
                file=self.file,
                section=self.where,
            )

    # ------------------------------------------------------------------ names

    @staticmethod
    def _count(table: dict[str, int], name: str) -> int:
        n = table.get(name, 0) + 1
        table[name] = n
        return n

    def _resolve(self, tid: int, table: dict[str, int]) -> str:
        name = self._resolved.get(tid)
        if name is not None:
            return name
        t = self.types[tid]
        orig: str = t.name
        if not orig:
            return ""
        if isinstance(t, Fwd) or (isinstance(t, Enum) and not t.values):
            name = orig
        else:
            n = self._count(table, orig)
            name = f"{orig}___{n}" if n > 1 else orig
        self._resolved[tid] = name
        return name

    def type_name(self, tid: int) -> str:
        """The unique name of a struct/union/enum (or int) type."""
        return self._resolve(tid, self.type_names)

    def ident_name(self, tid: int) -> str:
        """The unique name of a typedef."""
        return self._resolve(tid, self.ident_names)

    # ------------------------------------------------------------------ records

    def struct_fwd(self, tid: int, t: Struct | Union) -> None:
        kw = "struct" if isinstance(t, Struct) else "union"
        self.out.append(f"{kw} {self.type_name(tid)}" if t.name else kw)

    def struct_def(self, tid: int, t: Struct | Union, lvl: int) -> None:
        """A full ``struct X { ... }`` body with padding and packed detection."""
        out = self.out
        layout = self.layout
        is_struct = isinstance(t, Struct)
        align = layout.align_of(tid)
        packed = is_struct and layout.is_packed(t)  # type: ignore[arg-type]
        kw = "struct" if is_struct else "union"
        out.append(f"{kw} {self.type_name(tid)} {{" if t.name else f"{kw} {{")
        inner = pfx(lvl + 1)
        off = 0
        prev_bitfield = False
        for m in t.members:
            m_sz = m.bitfield_size
            m_off = m.bit_offset
            if off < m_off:
                m_align = 1 if packed else layout.align_of(m.type)
                self.bit_padding(off, m_off, m_align, prev_bitfield and m_sz != 0, lvl + 1)
            out.append("\n" + inner)
            self.type_decl(m.type, m.name, lvl + 1)
            if m_sz:
                out.append(f": {m_sz};")
                off = m_off + m_sz
                prev_bitfield = True
            else:
                off = m_off + max(0, layout.resolve_size(m.type)) * 8
                prev_bitfield = False
                out.append(";")
        if is_struct:
            self.bit_padding(off, t.size * 8, align, False, lvl + 1)
        if t.members or t.size:
            out.append("\n" + pfx(lvl) + "}")
        else:
            out.append("}")
        if packed:
            out.append(" __attribute__((packed))")

    def bit_padding(self, cur: int, nxt: int, next_align: int, in_bitfield: bool, lvl: int) -> None:
        """Explicit ``type: N;`` fillers for the gap from bit ``cur`` to ``nxt``."""
        if cur >= nxt:
            return
        if nxt - cur > MAX_GAP_BITS:
            raise BTFError(
                f"implausible padding gap of {(nxt - cur) // 8} bytes in a record",
                file=self.file,
                section=self.where,
            )
        self.check_size()
        pads = (("long", self.ptr_size * 8), ("int", 32), ("short", 16), ("char", 8))
        indent = "\n" + pfx(lvl)
        out = self.out
        pad_type, pad_bits, new_off = "char", 8, cur
        for name, bits in pads:
            pad_type, pad_bits = name, bits
            new_off = -(-cur // pad_bits) * pad_bits
            if new_off <= nxt:
                break
        if cur < new_off <= nxt:
            # (libbpf divides by zero when the next member has no alignment)
            step = next_align * 8
            natural = -(-cur // step) * step if step else new_off
            if (
                in_bitfield
                or (new_off == nxt and natural != new_off)
                or (new_off != nxt and nxt - new_off <= new_off - cur)
            ):
                out.append(f"{indent}{pad_type}: {new_off - cur if in_bitfield else 0};")
            cur = new_off
        while cur != nxt:
            bits = min(nxt - cur, pad_bits)
            if bits == pad_bits:
                count = (nxt - cur) // pad_bits  # a run of whole fillers, written at once
                line = f"{indent}{pad_type}: {pad_bits};"
                self.check_size(len(line) * count)
                out.append(line * count)
                cur += count * pad_bits
                continue
            for pad_type, pad_bits in reversed(pads):
                if pad_bits < bits:
                    continue
                out.append(f"{indent}{pad_type}: {bits};")
                cur += bits
                break

    # ------------------------------------------------------------------ enums

    def enum_def(self, tid: int, t: Enum | Enum64, lvl: int) -> None:
        """An ``enum X { ... }`` body; 64-bit values get LL/ULL suffixes."""
        out = self.out
        out.append(f"enum {self.type_name(tid)}" if t.name else "enum")
        if not t.values:
            return
        out.append(" {")
        indent = "\n" + pfx(lvl + 1)
        idents = self.ident_names
        suffix = ("LL" if t.signed else "ULL") if isinstance(t, Enum64) else ""
        for v in t.values:
            n = idents.get(v.name, 0) + 1
            idents[v.name] = n
            if n > 1:
                out.append(f"{indent}{v.name}___{n} = {v.value}{suffix},")
            else:
                out.append(f"{indent}{v.name} = {v.value}{suffix},")
        out.append("\n" + pfx(lvl) + "}")

    # ------------------------------------------------------------------ others

    def fwd_def(self, tid: int, t: Fwd) -> None:
        self.out.append(f"{'union' if t.is_union else 'struct'} {self.type_name(tid)}")

    def typedef_def(self, tid: int, t: Typedef, lvl: int) -> None:
        name = self.ident_name(tid)
        if t.type == 0 and name == "__gnuc_va_list":
            self.out.append("typedef __builtin_va_list __gnuc_va_list")
            return
        self.out.append("typedef ")
        self.type_decl(t.type, name, lvl)

    # ------------------------------------------------------------------ chains

    def type_decl(self, tid: int, fname: str, lvl: int) -> None:
        """Declare ``fname`` of type ``tid`` (``fname`` may be empty)."""
        self.check_size()
        kinds, types = self.kinds, self.types
        stack = [tid]
        while tid:
            k = kinds[tid]
            if k in _CHAIN_NEXT:
                t = types[tid]
                tid = t.return_type if k == Kind.FUNC_PROTO else t.type  # type: ignore[union-attr]
            elif k == Kind.ARRAY:
                tid = types[tid].type  # type: ignore[union-attr]
            else:
                break
            stack.append(tid)
        self._chain(stack, fname, lvl)

    def _mods(self, stack: list[int]) -> None:
        kinds = self.kinds
        while stack:
            word = _MOD_WORD.get(kinds[stack[-1]])
            if word is None:
                return
            self.out.append(word)
            stack.pop()

    def _drop_mods(self, stack: list[int]) -> None:
        kinds = self.kinds
        while stack and kinds[stack[-1]] in _MODS:
            stack.pop()

    def _name(self, fname: str, last_was_ptr: bool) -> None:
        if fname:
            self.out.append(fname if last_was_ptr else " " + fname)

    def _chain(self, stack: list[int], fname: str, lvl: int) -> None:
        out, kinds, types = self.out, self.kinds, self.types
        last_was_ptr = True
        while stack:
            tid = stack.pop()
            if tid == 0:
                self._mods(stack)
                out.append("void")
                last_was_ptr = False
                continue
            k = kinds[tid]
            t = types[tid]
            if k == Kind.INT or k == Kind.FLOAT:
                self._mods(stack)
                out.append(t.name)
            elif k == Kind.STRUCT or k == Kind.UNION:
                self._mods(stack)
                if t.name:
                    self.struct_fwd(tid, t)  # type: ignore[arg-type]
                else:
                    self.struct_def(tid, t, lvl)  # type: ignore[arg-type]
            elif k == Kind.ENUM or k == Kind.ENUM64:
                self._mods(stack)
                if t.name:
                    out.append("enum " + self.type_name(tid))
                else:
                    self.enum_def(tid, t, lvl)  # type: ignore[arg-type]
            elif k == Kind.FWD:
                self._mods(stack)
                self.fwd_def(tid, t)  # type: ignore[arg-type]
            elif k == Kind.TYPEDEF:
                self._mods(stack)
                out.append(self.ident_name(tid))
            elif k == Kind.PTR:
                out.append("*" if last_was_ptr else " *")
            elif k == Kind.VOLATILE:
                out.append(" volatile")
            elif k == Kind.CONST:
                out.append(" const")
            elif k == Kind.RESTRICT:
                out.append(" restrict")
            elif k == Kind.TYPE_TAG:
                self._mods(stack)
                if t.attribute:  # type: ignore[union-attr]
                    out.append(f" __attribute__(({t.name}))")
                else:
                    out.append(f' __attribute__((btf_type_tag("{t.name}")))')
            elif isinstance(t, Array):
                self._drop_mods(stack)
                if not stack:
                    self._name(fname, last_was_ptr)
                    out.append(f"[{t.nelems}]")
                    return
                multidim = kinds[stack[-1]] == Kind.ARRAY
                if fname and not last_was_ptr:
                    out.append(" ")
                if not multidim:
                    out.append("(")
                self._chain(stack, fname, lvl)
                if not multidim:
                    out.append(")")
                out.append(f"[{t.nelems}]")
                return
            elif isinstance(t, FuncProto):
                self._drop_mods(stack)
                if stack:
                    out.append(" (")
                    self._chain(stack, fname, lvl)
                    out.append(")")
                else:
                    self._name(fname, last_was_ptr)
                out.append("(")
                params = t.params
                if not params or (len(params) == 1 and params[0].type == 0):
                    out.append("void)")  # no arguments (clang spells it as one void)
                    return
                last = len(params) - 1
                for i, p in enumerate(params):
                    if i:
                        out.append(", ")
                    if i == last and p.type == 0:
                        out.append("...")
                        break
                    self.type_decl(p.type, p.name, lvl)
                out.append(")")
                return
            else:
                return  # not part of a declarator chain (libbpf warns and stops)
            last_was_ptr = k == Kind.PTR
        self._name(fname, last_was_ptr)

"""BTF types as Python types for generated code: dataclasses, IntEnums, annotations.

The mapping follows :mod:`pybpf.btf.layout` exactly (so a decoded ``Record`` converts
field by field): integers and pointers are ``int``, ``_Bool`` is ``bool``, ``char[N]``
is ``bytes``, other arrays are lists, named enums become IntEnum classes and structs
and unions become frozen dataclasses whose fields are the layout's (anonymous members
flattened into their parent).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pybpf.btf.types import (
    Array,
    Const,
    Enum,
    Enum64,
    Float,
    Int,
    Ptr,
    Restrict,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Volatile,
)
from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["EnumDef", "FieldDef", "Names", "PyType", "RecordDef", "TypeMapper", "camel", "ident"]

_SCALARS = ("int", "bool", "float", "bytes")
_INT_SIZES = (1, 2, 4, 8)


@dataclass(frozen=True)
class PyType:
    """A Python type expression: a scalar, ``list[elem]``, or a generated class."""

    kind: str  # int | bool | float | bytes | list | record | enum
    ref: str = ""  # generated class name (record, enum)
    elem: PyType | None = None  # element type (list)

    @property
    def annotation(self) -> str:
        """The type as written in an annotation."""
        if self.kind == "list":
            assert self.elem is not None
            return f"list[{self.elem.annotation}]"
        return self.ref or self.kind

    @property
    def plain(self) -> bool:
        """Whether a decoded value already has this type (no conversion needed)."""
        if self.kind == "list":
            assert self.elem is not None
            return self.elem.plain
        return self.kind in _SCALARS


@dataclass
class FieldDef:
    """One dataclass field: its Python name, C name and type."""

    name: str
    c_name: str
    type: PyType


@dataclass
class RecordDef:
    """A generated dataclass for a struct or union."""

    name: str
    c_decl: str
    type_id: int
    size: int
    fields: list[FieldDef] = field(default_factory=list)


@dataclass
class EnumDef:
    """A generated IntEnum for a named C enum."""

    name: str
    c_decl: str
    members: list[tuple[str, int]]


def ident(name: str, reserved: frozenset[str] | set[str] = frozenset()) -> str:
    """``name`` made a usable Python identifier (keywords and reserved names get ``_``)."""
    out = re.sub(r"\W", "_", name) or "_"
    if out[0].isdigit():
        out = "_" + out
    if out.startswith("__"):
        out = "f" + out  # no name mangling inside class bodies
    while (
        keyword.iskeyword(out)
        or keyword.issoftkeyword(out)
        or out in reserved
        or out in ("l", "O", "I")  # ruff E741: ambiguous names
    ):
        out += "_"
    return out


def camel(name: str) -> str:
    """``exec_event`` -> ``ExecEvent`` (a class name for a C name)."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    out = "".join(p[:1].upper() + p[1:] for p in parts) or "Anon"
    return "T" + out if out[0].isdigit() else out


# names that annotations in class bodies use: a member may not shadow them
_TYPE_NAMES = frozenset(
    {"int", "bool", "float", "bytes", "list", "dict", "str", "object", "memoryview", "cls"}
)


class Names:
    """Names already taken, so that generated classes and members never collide.

    A class body's annotations see its members, so a member named like a type used
    in annotations (``bytes``, ``Event``) would shadow it: member names avoid module
    names, and class names avoid every member name given so far.
    """

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.members: set[str] = set()

    def claim(self, want: str) -> str:
        """``want``, or ``want2``, ``want3``... whichever is free; now taken."""
        name, n = want, 1
        while name in self.taken or name in self.members or keyword.iskeyword(name):
            n += 1
            name = f"{want}{n}"
        self.taken.add(name)
        return name

    def member(self, c_name: str, local: set[str] | frozenset[str] = frozenset()) -> str:
        """A member name for ``c_name`` avoiding ``local`` names and type names."""
        name = ident(c_name, set(local) | self.taken | _TYPE_NAMES)
        self.members.add(name)
        return name


_RECORD_RESERVED = frozenset({"from_record", "to_dict", "TYPE_ID", "SIZE", "decode"})
_ENUM_RESERVED = frozenset({"name", "value", "mro"})


class TypeMapper:
    """Maps BTF type ids to Python types, collecting the classes to generate."""

    def __init__(self, btf: BTF, names: Names) -> None:
        self.btf = btf
        self.names = names
        self.records: dict[int, RecordDef] = {}
        self.enums: dict[int, EnumDef] = {}
        self.order: list[RecordDef | EnumDef] = []  # nested types before their users

    def _strip(self, tid: int) -> tuple[int, str]:
        """Skip typedefs and qualifiers; the resolved id and the last typedef name seen."""
        tname = ""
        for _ in range(64):
            t = self.btf.type(tid)
            if isinstance(t, Typedef):
                tname = tname or t.name
                tid = t.type
            elif isinstance(t, Const | Volatile | Restrict | TypeTag):
                tid = t.type
            else:
                return tid, tname
        raise BTFError(f"type [{tid}] nests too deeply", section=self.btf.name)

    def py_type(self, tid: int, hint: str = "") -> PyType:
        """The Python type of BTF type ``tid`` (classes are generated on first use)."""
        rid, tdname = self._strip(tid)
        t = self.btf.type(rid)
        if isinstance(t, Int):
            return PyType("bool" if t.is_bool and t.size == 1 else "int")
        if isinstance(t, Ptr):
            return PyType("int")
        if isinstance(t, Enum | Enum64):
            if t.size not in _INT_SIZES:
                return PyType("bytes")
            name = t.name or tdname
            if not name or not t.values:
                return PyType("int")
            return PyType("enum", ref=self._enum(rid, t, name))
        if isinstance(t, Float):
            return PyType("float" if t.size in (2, 4, 8) else "bytes")
        if isinstance(t, Array):
            erid, _ = self._strip(t.type)
            et = self.btf.type(erid)
            if (
                isinstance(et, Int)
                and et.size == 1
                and (et.is_char or et.name in ("char", "signed char"))
            ):
                return PyType("bytes")
            return PyType("list", elem=self.py_type(t.type, hint))
        if isinstance(t, Struct | Union):
            return PyType("record", ref=self._record(rid, t, t.name or tdname or hint))
        raise BTFError(
            f"type [{tid}] ({self.btf.type_name(tid)}) has no Python value type",
            section=self.btf.name,
        )

    def _enum(self, rid: int, t: Enum | Enum64, name: str) -> str:
        found = self.enums.get(rid)
        if found is not None:
            return found.name
        members: list[tuple[str, int]] = []
        seen: set[str] = set()
        for v in t.values:
            mname = ident(v.name.lstrip("_") or "V", _ENUM_RESERVED | seen)
            seen.add(mname)
            members.append((mname, v.value))
        c_decl = f"enum {t.name}" if t.name else name
        e = EnumDef(self.names.claim(camel(name)), c_decl, members)
        self.enums[rid] = e
        self.order.append(e)
        return e.name

    def _record(self, rid: int, t: Struct | Union, name: str) -> str:
        found = self.records.get(rid)
        if found is not None:
            return found.name
        kw = "union" if isinstance(t, Union) else "struct"
        c_decl = f"{kw} {t.name}" if t.name else (name or f"anonymous {kw}")
        rec = RecordDef(self.names.claim(camel(name or f"anon_{kw}_{rid}")), c_decl, rid, t.size)
        self.records[rid] = rec
        try:
            members: list[tuple[str, int]] = []
            self._collect(t, members)
            self._check_layout(rid, [c for c, _ in members])
            taken: set[str] = set()
            for c_name, mtid in members:
                pyname = self.names.member(c_name, _RECORD_RESERVED | taken)
                taken.add(pyname)
                ftype = self.py_type(mtid, f"{rec.name}_{c_name}")
                rec.fields.append(FieldDef(pyname, c_name, ftype))
        except BTFError:
            del self.records[rid]
            raise
        self.order.append(rec)
        return rec.name

    def _collect(self, t: Struct | Union, out: list[tuple[str, int]]) -> None:
        """Members as the layout sees them: anonymous struct/union members flattened."""
        for m in t.members:
            mrid, _ = self._strip(m.type)
            mt = self.btf.type(mrid)
            if not m.name and isinstance(mt, Struct | Union):
                self._collect(mt, out)
                continue
            out.append((m.name or f"_anon{len(out)}", m.type))

    def _check_layout(self, rid: int, names: list[str]) -> None:
        """The decoded record has exactly these fields, in this order."""
        from pybpf.btf.layout import Layout

        lay = Layout.for_type(self.btf, rid)
        fields = [f.name for f in getattr(lay, "fields", [])]
        if fields != names:
            raise BTFError(
                f"{self.btf.type_name(rid)}: fields {names} do not match its layout {fields}",
                section=self.btf.name,
            )

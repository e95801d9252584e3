"""BTF kinds and the immutable Python model of each kind of BTF type.

Every type record decodes to one frozen dataclass below; ``.kind`` gives the
kernel's kind number. Type ids refer to other types (0 is ``void``).
"""

from __future__ import annotations

from typing import ClassVar

from pybpf._dataclass import dataclass
from pybpf._fastenum import FastIntEnum, FastIntFlag

# The kernel's BTF_KIND_* numbers: one enum, generated from kernel BTF by uapi/gen.py.
from pybpf.uapi.enums import BtfKind as Kind

__all__ = [
    "Array",
    "Const",
    "Datasec",
    "DeclTag",
    "Enum",
    "Enum64",
    "EnumValue",
    "Float",
    "Func",
    "FuncProto",
    "Fwd",
    "Int",
    "IntEncoding",
    "Kind",
    "Linkage",
    "Member",
    "Param",
    "Ptr",
    "Restrict",
    "Struct",
    "Type",
    "TypeTag",
    "Typedef",
    "Union",
    "Var",
    "VarLinkage",
    "VarSecinfo",
    "Void",
    "Volatile",
]


class IntEncoding(FastIntFlag):
    """``BTF_INT_*`` encoding bits of an INT type."""

    NONE = 0
    SIGNED = 1
    CHAR = 2
    BOOL = 4


class Linkage(FastIntEnum):
    """Linkage of a FUNC (``BTF_FUNC_*``)."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


class VarLinkage(FastIntEnum):
    """Linkage of a VAR (``BTF_VAR_*``)."""

    STATIC = 0
    GLOBAL_ALLOCATED = 1
    GLOBAL_EXTERN = 2


@dataclass(frozen=True, slots=True)
class Void:
    """Type id 0: ``void``."""

    kind: ClassVar[Kind] = Kind.UNKN
    name: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Int:
    """An integer: ``bits`` wide at bit ``offset`` inside ``size`` bytes."""

    kind: ClassVar[Kind] = Kind.INT
    name: str
    size: int
    encoding: IntEncoding
    bits: int
    offset: int = 0

    @property
    def signed(self) -> bool:
        return bool(self.encoding & IntEncoding.SIGNED)

    @property
    def is_char(self) -> bool:
        return bool(self.encoding & IntEncoding.CHAR)

    @property
    def is_bool(self) -> bool:
        return bool(self.encoding & IntEncoding.BOOL)


@dataclass(frozen=True, slots=True)
class Ptr:
    """A pointer to ``type``."""

    kind: ClassVar[Kind] = Kind.PTR
    name: ClassVar[str] = ""
    type: int


@dataclass(frozen=True, slots=True)
class Array:
    """``nelems`` elements of ``type``, indexed by ``index_type``."""

    kind: ClassVar[Kind] = Kind.ARRAY
    name: ClassVar[str] = ""
    type: int
    index_type: int
    nelems: int


@dataclass(frozen=True, slots=True)
class Member:
    """A struct/union member; ``bitfield_size`` is 0 for a plain member."""

    name: str
    type: int
    bit_offset: int
    bitfield_size: int = 0

    @property
    def byte_offset(self) -> int:
        return self.bit_offset // 8


@dataclass(frozen=True, slots=True)
class Struct:
    """A struct of ``size`` bytes (anonymous when ``name`` is empty)."""

    kind: ClassVar[Kind] = Kind.STRUCT
    name: str
    size: int
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class Union:
    """A union of ``size`` bytes."""

    kind: ClassVar[Kind] = Kind.UNION
    name: str
    size: int
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class EnumValue:
    """One enumerator."""

    name: str
    value: int


@dataclass(frozen=True, slots=True)
class Enum:
    """An enum with 32-bit values (``signed`` says how values are read)."""

    kind: ClassVar[Kind] = Kind.ENUM
    name: str
    size: int
    signed: bool
    values: tuple[EnumValue, ...]


@dataclass(frozen=True, slots=True)
class Enum64:
    """An enum with 64-bit values."""

    kind: ClassVar[Kind] = Kind.ENUM64
    name: str
    size: int
    signed: bool
    values: tuple[EnumValue, ...]


@dataclass(frozen=True, slots=True)
class Fwd:
    """A forward declaration of a struct (or union when ``is_union``)."""

    kind: ClassVar[Kind] = Kind.FWD
    name: str
    is_union: bool = False


@dataclass(frozen=True, slots=True)
class Typedef:
    """``typedef type name``."""

    kind: ClassVar[Kind] = Kind.TYPEDEF
    name: str
    type: int


@dataclass(frozen=True, slots=True)
class Volatile:
    """``volatile type``."""

    kind: ClassVar[Kind] = Kind.VOLATILE
    name: ClassVar[str] = ""
    type: int


@dataclass(frozen=True, slots=True)
class Const:
    """``const type``."""

    kind: ClassVar[Kind] = Kind.CONST
    name: ClassVar[str] = ""
    type: int


@dataclass(frozen=True, slots=True)
class Restrict:
    """``restrict type``."""

    kind: ClassVar[Kind] = Kind.RESTRICT
    name: ClassVar[str] = ""
    type: int


@dataclass(frozen=True, slots=True)
class Func:
    """A function; ``type`` is its FUNC_PROTO."""

    kind: ClassVar[Kind] = Kind.FUNC
    name: str
    type: int
    linkage: Linkage = Linkage.STATIC


@dataclass(frozen=True, slots=True)
class Param:
    """A FUNC_PROTO parameter (``type`` 0 and no name marks ``...``)."""

    name: str
    type: int


@dataclass(frozen=True, slots=True)
class FuncProto:
    """A function signature."""

    kind: ClassVar[Kind] = Kind.FUNC_PROTO
    name: ClassVar[str] = ""
    return_type: int
    params: tuple[Param, ...]

    @property
    def variadic(self) -> bool:
        return bool(self.params) and self.params[-1].type == 0 and not self.params[-1].name


@dataclass(frozen=True, slots=True)
class Var:
    """A global variable."""

    kind: ClassVar[Kind] = Kind.VAR
    name: str
    type: int
    linkage: VarLinkage = VarLinkage.STATIC


@dataclass(frozen=True, slots=True)
class VarSecinfo:
    """Where a VAR (or FUNC, for ``.ksyms``) lives in a DATASEC."""

    type: int
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class Datasec:
    """A data section (``.data``, ``.bss``, ``.rodata``, ``.kconfig``, ...)."""

    kind: ClassVar[Kind] = Kind.DATASEC
    name: str
    size: int
    vars: tuple[VarSecinfo, ...]


@dataclass(frozen=True, slots=True)
class Float:
    """A floating-point type of ``size`` bytes."""

    kind: ClassVar[Kind] = Kind.FLOAT
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class DeclTag:
    """A tag on a declaration; ``component_idx`` -1 tags the type itself.

    ``attribute`` is the kind_flag: the tag is a plain C attribute (kernel 6.14+).
    """

    kind: ClassVar[Kind] = Kind.DECL_TAG
    name: str
    type: int
    component_idx: int = -1
    attribute: bool = False


@dataclass(frozen=True, slots=True)
class TypeTag:
    """A tag on a pointee type (``__attribute__((btf_type_tag(...)))``)."""

    kind: ClassVar[Kind] = Kind.TYPE_TAG
    name: str
    type: int
    attribute: bool = False


Type = (
    Void
    | Int
    | Ptr
    | Array
    | Struct
    | Union
    | Enum
    | Enum64
    | Fwd
    | Typedef
    | Volatile
    | Const
    | Restrict
    | Func
    | FuncProto
    | Var
    | Datasec
    | Float
    | DeclTag
    | TypeTag
)

VOID = Void()

"""``@dataclass`` for pybpf's own classes, without the cost of the standard one at import.

Defining a class with the standard ``@dataclass`` compiles its ``__init__``,
``__repr__``, ``__eq__``, ``__hash__`` and (frozen) ``__setattr__``/``__delattr__``
from source text at every import (about 0.5 ms a class, 30-40 ms of the ~75 classes a
load imports), and importing ``dataclasses`` imports ``inspect`` (with ``ast``, ``dis``
and ``tokenize``: ~4 ms). Here the fields are read from the class body directly and the
methods, with the standard semantics, come from one source text per class shape whose
compiled code is kept in the cache directory (like ``.pyc`` files), so later processes
skip the compiler; ``dataclasses`` is not imported. ``dataclasses.fields``, ``replace``,
``asdict`` and ``is_dataclass`` still work: ``__dataclass_fields__`` is built by the
standard module on first access. :func:`field` and :func:`replace` here are the
standard ones' equivalents for such classes. Options this does not cover (``order``,
``unsafe_hash``, ``kw_only``, ``InitVar``, a base made by the standard decorator) go to
the standard decorator unchanged. Type checkers see the standard names.
"""

from __future__ import annotations

import atexit
import builtins
import marshal
import operator
import sys
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pybpf import _cachefile

__all__ = ["dataclass", "field", "fields", "replace"]

_FAST: set[type] = set()  # classes made here (a subclass of another dataclass goes standard)
_dirty: set[str] = set()  # modules with a class whose code was compiled in this process
_MAX_ENTRIES = 4096


def _cache_file() -> Path | None:
    base = _cachefile.cache_dir()
    if base is None:
        return None
    return base / f"dataclass-code-{sys.implementation.cache_tag}-{sys.hexversion:x}.v2.bin"


# The cache file holds {module: marshalled {source text: marshalled code}}: a process
# unmarshals the tables of the modules it defines classes in, not every shape ever seen.
_stored: dict[str, bytes] | None = None  # the file's tables, per module, still marshalled
_tables: dict[str, dict[str, bytes]] = {}  # modules' tables unmarshalled in this process
_used: dict[str, dict[str, bytes]] = {}  # what this process's classes used, per module
_defined: dict[str, list[tuple[type, Any, bool]]] = {}  # classes with a lazy __init__, per module


def _load_codes() -> dict[str, bytes]:
    """The cached tables per module (empty when absent, invalid, or not a safe file of
    this user: code from a file someone else could write is never run)."""
    path = _cache_file()
    data = _cachefile.read(path) if path is not None else None
    if data is None:
        return {}
    try:
        table = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(table, dict):
        return {}
    return {k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, bytes)}


def _module_table(module: str) -> dict[str, bytes]:
    global _stored
    table = _tables.get(module)
    if table is None:
        if _stored is None:
            _stored = _load_codes()
            atexit.register(_save_codes)
        table = {}
        blob = _stored.get(module)
        if blob is not None:
            try:
                loaded = marshal.loads(blob)
            except (EOFError, ValueError, TypeError):
                loaded = None
            if isinstance(loaded, dict):
                table = loaded
        _tables[module] = table
    return table


def _save_codes() -> None:
    """Write back the tables of the modules with a class compiled in this process: each
    becomes exactly what its classes used (the shapes of a changed module's old classes
    are dropped)."""
    if not _dirty:
        return
    path = _cache_file()
    if path is None:
        return
    merged = _load_codes()  # (another process may have written meanwhile)
    if len(merged) > _MAX_ENTRIES:
        merged = {}
    for module in _dirty:
        # the current shape of every class the module defines, compiled here or
        # before (a process compiles only the classes it instantiates); the shapes
        # of classes since edited are dropped
        table, used = _tables.get(module, {}), _used[module]
        keep: dict[str, bytes] = {}
        for c, flds, frozen in _defined.get(module, ()):
            src = _init_source(c, flds, frozen)[0]
            blob = used.get(src) or table.get(src)
            if blob is not None:
                keep[src] = blob
        merged[module] = marshal.dumps(keep)
    _dirty.clear()
    _cachefile.write(path, marshal.dumps(merged))  # unwritable: the next import is slower


def _compiled(src: str, where: str, module: str) -> Any:
    """The code object of ``src`` (from the cache, else compiled and remembered)."""
    table = _module_table(module)
    used = _used.setdefault(module, {})
    blob = table.get(src)
    if blob is not None:
        try:
            code = marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            pass
        else:
            used[src] = blob
            return code
    code = compile(src, where, "exec")
    used[src] = marshal.dumps(code)
    _dirty.add(module)
    return code


class _MissingType:
    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _MissingType()  # no default (dataclasses.MISSING, without importing it)
_PLAIN = object()  # stands for a string annotation that is no ClassVar, InitVar or KW_ONLY
_FACTORY = object()  # default of an __init__ argument whose field has a default_factory
_DC = "__pybpf_dataclass__"  # class attribute: (fields, frozen) of a class made here


class _Field:
    """One field as this module knows it (what ``dataclasses.Field`` holds, and
    what :func:`field` returns in a class body before the decorator reads it)."""

    __slots__ = (
        "compare",
        "default",
        "default_factory",
        "hash",
        "init",
        "kw_only",
        "metadata",
        "name",
        "repr",
        "type",
    )

    def __init__(
        self,
        default: Any = _MISSING,
        default_factory: Any = _MISSING,
        init: bool = True,
        repr: bool = True,
        hash: bool | None = None,
        compare: bool = True,
        metadata: Any = None,
        kw_only: Any = _MISSING,
    ) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.hash, self.compare = init, repr, hash, compare
        self.metadata, self.kw_only = metadata, kw_only

    def standard(self) -> Any:
        """The same field as a ``dataclasses.Field`` (for the standard decorator)."""
        import dataclasses

        kw: dict[str, Any] = {
            "init": self.init,
            "repr": self.repr,
            "hash": self.hash,
            "compare": self.compare,
            "metadata": self.metadata,
        }
        if self.default is not _MISSING:
            kw["default"] = self.default
        if self.default_factory is not _MISSING:
            kw["default_factory"] = self.default_factory
        if self.kw_only is not _MISSING:
            kw["kw_only"] = self.kw_only
        return dataclasses.field(**kw)


def _field(
    *,
    default: Any = _MISSING,
    default_factory: Any = _MISSING,
    init: bool = True,
    repr: bool = True,
    hash: bool | None = None,
    compare: bool = True,
    metadata: Any = None,
    kw_only: Any = _MISSING,
) -> Any:
    return _Field(default, default_factory, init, repr, hash, compare, metadata, kw_only)


def _frozen_error(message: str) -> Exception:
    import dataclasses  # raised rarely: the standard class, imported then

    return dataclasses.FrozenInstanceError(message)


def _from_std(f: Any) -> _Field:
    from dataclasses import MISSING

    return _Field(
        _MISSING if f.default is MISSING else f.default,
        _MISSING if f.default_factory is MISSING else f.default_factory,
        f.init,
        f.repr,
        f.hash,
        f.compare,
        None if not f.metadata else f.metadata,
        _MISSING if f.kw_only is MISSING else f.kw_only,
    )


class _Lazy:
    """``__dataclass_fields__`` / ``__dataclass_params__`` of a class made here: built by
    the standard module (same Field objects as the standard decorator) on first access."""

    def __init__(self, cls: type, attr: str) -> None:
        self.cls, self.attr = cls, attr

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        fields_, params = _standard_fields(self.cls)
        type.__setattr__(self.cls, "__dataclass_fields__", fields_)
        type.__setattr__(self.cls, "__dataclass_params__", params)
        return fields_ if self.attr == "__dataclass_fields__" else params


def _standard_fields(cls: type) -> tuple[dict[str, Any], Any]:
    """What the standard decorator would have put in ``__dataclass_fields__`` and
    ``__dataclass_params__`` of ``cls`` (the standard code builds them, on a stand-in)."""
    import dataclasses

    merged: dict[str, Any] = {}
    for b in cls.__mro__[-1:0:-1]:
        merged.update(getattr(b, "__dataclass_fields__", None) or {})
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (this class's own)
    ns: dict[str, Any] = {"__module__": cls.__module__, "__annotations__": {}}
    mine = {f.name: f for f in cls.__dict__[_DC][0]}
    for name, a in own.items():
        classvar = isinstance(a, str) and (a == "ClassVar" or a.startswith("ClassVar["))
        ns["__annotations__"][name] = typing.ClassVar if classvar else _PLAIN
        f = mine.get(name)
        if f is not None:
            ns[name] = f.standard()
        elif name in cls.__dict__:  # a ClassVar's value
            ns[name] = cls.__dict__[name]
    params: dict[str, Any] = cls.__dict__[_DC][2]
    stand_in: Any = dataclasses.dataclass(
        type(cls.__name__, (), ns), init=False, repr=False, eq=False
    )
    for name, f in stand_in.__dataclass_fields__.items():
        f.type = own[name]
        merged[name] = f
    empty: Any = dataclasses.dataclass(type(cls.__name__, (), {}), **params)
    return merged, empty.__dataclass_params__


def _fields(class_or_instance: Any) -> tuple[Any, ...]:
    """``dataclasses.fields`` (the standard Field objects)."""
    import dataclasses

    return dataclasses.fields(class_or_instance)


def _replace(obj: Any, /, **changes: Any) -> Any:
    """``dataclasses.replace``: a copy of ``obj`` with ``changes`` (through ``__init__``)."""
    own = type(obj).__dict__.get(_DC)
    if own is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)
    for f in own[0]:
        if not f.init:
            if f.name in changes:
                raise ValueError(
                    f"field {f.name} is declared with init=False, it cannot be specified "
                    "with replace()"
                )
            continue
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def _tuple_of(names: tuple[str, ...]) -> Any:
    """A function giving ``(obj.a, obj.b, ...)`` for ``names`` (C speed for two or more)."""
    if len(names) >= 2:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


class _LazyInit:
    """A class's ``__init__`` until first used: then compiled (or taken from the code
    cache) and put on the class in its place, so a class never instantiated in a
    process costs no code."""

    __slots__ = ("cls", "flds", "frozen")

    def __init__(self, cls: type, flds: tuple[_Field, ...], frozen: bool) -> None:
        self.cls, self.flds, self.frozen = cls, flds, frozen

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        fn = _init_function(self.cls, self.flds, self.frozen)
        type.__setattr__(self.cls, "__init__", fn)
        return fn if obj is None else fn.__get__(obj, owner)


def _init_function(cls: type, flds: tuple[_Field, ...], frozen: bool) -> Any:
    """``cls.__init__`` with the standard semantics, from one compiled source text."""
    src, ns = _init_source(cls, flds, frozen)
    where = f"<dataclass {cls.__module__}.{cls.__qualname__}>"
    exec(_compiled(src, where, cls.__module__), ns)
    fn = ns["__init__"]
    fn.__qualname__ = f"{cls.__qualname__}.__init__"
    return fn


def _init_source(cls: type, flds: tuple[_Field, ...], frozen: bool) -> tuple[str, dict[str, Any]]:
    """The source text of ``cls.__init__`` and the namespace it runs in."""
    ns: dict[str, Any] = {
        "__builtins__": builtins,
        "_dc_object": object,
        "_dc_factory": _FACTORY,
    }
    params, body = ["self"], []
    for f in flds:
        if f.init:
            if f.default is not _MISSING:
                ns[f"_dc_dflt_{f.name}"] = f.default
                params.append(f"{f.name}=_dc_dflt_{f.name}")
            elif f.default_factory is not _MISSING:
                params.append(f"{f.name}=_dc_factory")
            else:
                params.append(f.name)
        if f.default_factory is not _MISSING:
            ns[f"_dc_fact_{f.name}"] = f.default_factory
            value = (
                f"_dc_fact_{f.name}() if {f.name} is _dc_factory else {f.name}"
                if f.init
                else f"_dc_fact_{f.name}()"
            )
        elif f.init:
            value = f.name
        elif f.default is not _MISSING:
            ns[f"_dc_dflt_{f.name}"] = f.default
            value = f"_dc_dflt_{f.name}"
        else:
            continue
        if frozen:
            body.append(f"    _dc_object.__setattr__(self, {f.name!r}, {value})")
        else:
            body.append(f"    self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    src = "\n".join([f"def __init__({', '.join(params)}):", *(body or ["    pass"])]) + "\n"
    return src, ns


def _methods(cls: type, flds: tuple[_Field, ...], frozen: bool, want: dict[str, bool]) -> None:
    """Add the dataclass methods of ``cls`` named in ``want`` (standard semantics).

    Only ``__init__`` is specific code (made on first use, see :class:`_LazyInit`);
    the others are closures over the field names, which cost no compiling.
    """
    made: dict[str, Any] = {}
    if want["__init__"]:
        seen_default = False
        for f in flds:
            if f.init:
                if f.default is _MISSING and f.default_factory is _MISSING:
                    if seen_default:
                        raise TypeError(f"non-default argument {f.name!r} follows default argument")
                else:
                    seen_default = True
        type.__setattr__(cls, "__init__", _LazyInit(cls, flds, frozen))
        _defined.setdefault(cls.__module__, []).append((cls, flds, frozen))
    if want["__repr__"]:
        shown = tuple(f.name for f in flds if f.repr)

        def __repr__(self: Any) -> str:
            inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
            return f"{self.__class__.__qualname__}({inner})"

        made["__repr__"] = __repr__
    if want["__eq__"]:
        compared = _tuple_of(tuple(f.name for f in flds if f.compare))

        def __eq__(self: Any, other: Any) -> Any:
            if other.__class__ is self.__class__:
                return compared(self) == compared(other)
            return NotImplemented

        made["__eq__"] = __eq__
    if want["__hash__"]:
        hashed = _tuple_of(tuple(f.name for f in flds if (f.compare if f.hash is None else f.hash)))

        def __hash__(self: Any) -> int:
            return hash(hashed(self))

        made["__hash__"] = __hash__
    if frozen:
        names = frozenset(f.name for f in flds)
        owner: Any = cls

        def __setattr__(self: Any, name: str, value: Any) -> None:
            if type(self) is cls or name in names:
                raise _frozen_error(f"cannot assign to field {name!r}")
            super(owner, self).__setattr__(name, value)

        def __delattr__(self: Any, name: str) -> None:
            if type(self) is cls or name in names:
                raise _frozen_error(f"cannot delete field {name!r}")
            super(owner, self).__delattr__(name)

        made["__setattr__"], made["__delattr__"] = __setattr__, __delattr__
        if "__slots__" in cls.__dict__:  # pickling/copying a frozen slotted instance
            order = tuple(f.name for f in flds)

            def __getstate__(self: Any) -> list[Any]:
                return [getattr(self, n) for n in order]

            def __setstate__(self: Any, state: list[Any]) -> None:
                for n, v in zip(order, state, strict=False):
                    object.__setattr__(self, n, v)

            made["__getstate__"], made["__setstate__"] = __getstate__, __setstate__
    for name, fn in made.items():
        fn.__qualname__ = f"{cls.__qualname__}.{name}"
        type.__setattr__(cls, name, fn)


def _is_classvar(a: object) -> bool:
    if isinstance(a, str):
        return a == "ClassVar" or a.startswith("ClassVar[")
    return a is typing.ClassVar or typing.get_origin(a) is typing.ClassVar


def _odd(a: object) -> bool:
    """An annotation the standard code must judge: InitVar, KW_ONLY, a ClassVar spelt
    otherwise than ``ClassVar[...]``, or an object of the dataclasses module."""
    if isinstance(a, str):
        return (
            "InitVar" in a
            or "KW_ONLY" in a
            or ("ClassVar" in a and not (a == "ClassVar" or a.startswith("ClassVar[")))
        )
    return "dataclasses" in (getattr(a, "__module__", None), type(a).__module__)


def _slots_of(c: type) -> tuple[str, ...]:
    slots = c.__dict__.get("__slots__")
    if slots is None:
        return ()
    if isinstance(slots, str):
        return (slots,)
    if hasattr(slots, "__next__"):
        raise TypeError(f"Slots of '{c.__name__}' cannot be determined")
    return tuple(slots)


def _add_slots(cls: type, flds: tuple[_Field, ...]) -> type:
    """The class again with ``__slots__`` for its fields (the standard's ``slots=True``)."""
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    body = dict(cls.__dict__)
    inherited = {s for c in cls.__mro__[1:-1] for s in _slots_of(c)}
    names = tuple(f.name for f in flds)
    body["__slots__"] = tuple(n for n in names if n not in inherited)
    for n in names:
        body.pop(n, None)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    qualname = getattr(cls, "__qualname__", None)
    new: type = type(cls)(cls.__name__, cls.__bases__, body)
    if qualname is not None:
        new.__qualname__ = qualname
    return new


def _fast(
    cls: type,
    *,
    init: bool = True,
    repr: bool = True,
    eq: bool = True,
    frozen: bool = False,
    slots: bool = False,
    match_args: bool = True,
) -> type:
    body = cls.__dict__
    class_hash = body.get("__hash__", _MISSING)
    explicit_hash = not (class_hash is _MISSING or (class_hash is None and "__eq__" in body))
    want = {
        "__init__": init and "__init__" not in body,
        "__repr__": repr and "__repr__" not in body,
        "__eq__": eq and "__eq__" not in body,
        # the standard table: eq+frozen hash the compared fields; eq alone unhashable
        "__hash__": eq and frozen and not explicit_hash,
    }
    if not body.get("__doc__"):
        cls.__doc__ = cls.__name__  # (the standard one calls inspect.signature for this)
    # Fields: those of the bases made here, in MRO order, then this class's annotations.
    found: dict[str, _Field] = {}
    bases = [b.__dict__[_DC] for b in cls.__mro__[-1:0:-1] if _DC in b.__dict__]
    for base in bases:
        for f in base[0]:
            found[f.name] = f
    if bases:
        frozen_base = any(base[1] for base in bases)
        if frozen_base and not frozen:
            raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
        if not frozen_base and frozen:
            raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
    ann = body.get("__annotations__", {})
    std = sys.modules.get("dataclasses")  # (no standard Field can exist without it)
    fieldish: Any = (_Field, std.Field) if std is not None else _Field
    for name, value in body.items():
        if isinstance(value, fieldish) and name not in ann:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    for name, a in ann.items():
        if _is_classvar(a):
            continue
        value = body.get(name, _MISSING)
        if isinstance(value, _Field):
            f = value
        elif std is not None and isinstance(value, std.Field):
            f = _from_std(value)
        else:
            f = _Field(value)
        f.name, f.type = name, a
        if f.default is not _MISSING and f.default.__class__.__hash__ is None:
            raise ValueError(
                f"mutable default {type(f.default)} for field {name} is not allowed: "
                "use default_factory"
            )
        if value is not f.default:  # a field(...) object: the default (or nothing) instead
            if f.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        found[name] = f
    flds = tuple(found.values())
    if eq and not frozen and not explicit_hash:
        cls.__hash__ = None  # type: ignore[assignment]
    if match_args and "__match_args__" not in body:
        type.__setattr__(cls, "__match_args__", tuple(f.name for f in flds if f.init))
    if slots:
        cls = _add_slots(cls, flds)
    params = {"init": init, "repr": repr, "eq": eq, "frozen": frozen}
    params.update(match_args=match_args, slots=slots)
    type.__setattr__(cls, _DC, (flds, frozen, params))
    type.__setattr__(cls, "__dataclass_fields__", _Lazy(cls, "__dataclass_fields__"))
    type.__setattr__(cls, "__dataclass_params__", _Lazy(cls, "__dataclass_params__"))
    _methods(cls, flds, frozen, want)
    import abc  # (always loaded: the interpreter's start imports it)

    abc.update_abstractmethods(cls)
    return cls


def _dataclass(cls: type | None = None, /, **kw: Any) -> Any:
    plain = set(kw) <= {"init", "repr", "eq", "frozen", "slots", "match_args"}

    def wrap(c: type) -> type:
        body = c.__dict__
        ann = body.get("__annotations__", {})
        std = sys.modules.get("dataclasses")  # (no standard Field can exist without it)
        odd = any(map(_odd, ann.values())) or any(
            (isinstance(v, _Field) and v.kw_only is not _MISSING)
            or (std is not None and isinstance(v, std.Field) and v.kw_only is not std.MISSING)
            for v in body.values()
        )
        foreign = any(
            "__dataclass_fields__" in b.__dict__ and b not in _FAST for b in c.__mro__[1:]
        )
        own_setattr = kw.get("frozen") and ("__setattr__" in body or "__delattr__" in body)
        if plain and not odd and not foreign and not own_setattr:
            new = _fast(c, **kw)
            _FAST.add(new)
            return new
        import dataclasses

        for name, v in list(body.items()):
            if isinstance(v, _Field):
                setattr(c, name, v.standard())
        return dataclasses.dataclass(c, **kw)

    return wrap if cls is None else wrap(cls)


if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
    from dataclasses import field as field
    from dataclasses import fields as fields
    from dataclasses import replace as replace
else:
    dataclass = _dataclass
    field = _field
    fields = _fields
    replace = _replace

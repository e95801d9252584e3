"""``@dataclass`` for pybpf's own classes, with the generated methods' bytecode cached.

Defining a class with the standard ``@dataclass`` compiles its ``__init__``,
``__repr__``, ``__eq__``, ``__hash__`` and (frozen) ``__setattr__``/``__delattr__``
from source text at every import: about 0.5 ms a class, 30-40 ms of the
~75 classes a load imports. Here the standard decorator still processes the fields
(so ``dataclasses.fields``, ``replace`` and ``asdict`` work as usual) but generates no
method; the methods, with the standard semantics, come from one source text per
class shape whose compiled code is kept in the cache directory (like ``.pyc`` files),
so later processes skip the compiler. Options this does not cover (``order``,
``unsafe_hash``, ``kw_only``, ``InitVar``) go to the standard decorator unchanged.
Type checkers see the standard ``dataclasses.dataclass``.
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import marshal
import sys
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pybpf import _cachefile

__all__ = ["dataclass"]

_codes: dict[str, bytes] | None = None  # source text -> marshalled code, from the cache file
_FAST: set[type] = set()  # classes made here (a subclass of another dataclass goes standard)
_dirty = False
_MAX_ENTRIES = 4096


def _cache_file() -> Path | None:
    base = _cachefile.cache_dir()
    if base is None:
        return None
    return base / f"dataclass-code-{sys.implementation.cache_tag}-{sys.hexversion:x}.bin"


def _load_codes() -> dict[str, bytes]:
    """The cached codes (empty when absent, invalid, or not a safe file of this user:
    code from a file someone else could write is never run)."""
    path = _cache_file()
    data = _cachefile.read(path) if path is not None else None
    if data is None:
        return {}
    try:
        table = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return {}
    return table if isinstance(table, dict) else {}


def _save_codes() -> None:
    if not _dirty or _codes is None:
        return
    path = _cache_file()
    if path is None:
        return
    merged = _load_codes()
    if len(merged) > _MAX_ENTRIES:  # shapes of classes long gone: start afresh
        merged = {}
    merged.update(_codes)
    _cachefile.write(path, marshal.dumps(merged))  # unwritable: the next import is slower


def _compiled(src: str, where: str) -> Any:
    """The code object of ``src`` (from the cache, else compiled and remembered)."""
    global _codes, _dirty
    if _codes is None:
        _codes = _load_codes()
        atexit.register(_save_codes)
    blob = _codes.get(src)
    if blob is not None:
        try:
            return marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            pass
    code = compile(src, where, "exec")
    _codes[src] = marshal.dumps(code)
    _dirty = True
    return code


_MISSING = dataclasses.MISSING
_PLAIN = object()  # stands for a string annotation that is no ClassVar, InitVar or KW_ONLY
_FACTORY = object()  # default of an __init__ argument whose field has a default_factory


def _methods(cls: type, frozen: bool, want: dict[str, bool]) -> None:
    """Add the dataclass methods of ``cls`` named in ``want`` (standard semantics)."""
    flds = dataclasses.fields(cls)
    ns: dict[str, Any] = {
        "__builtins__": builtins,
        "_dc_object": object,
        "_dc_cls": cls,
        "_dc_frozen_error": dataclasses.FrozenInstanceError,
        "_dc_factory": _FACTORY,
        "_dc_names": frozenset(f.name for f in flds),
    }
    lines: list[str] = []
    if want["__init__"]:
        params, body = ["self"], []
        for f in flds:
            if f.init:
                if f.default is not _MISSING:
                    ns[f"_dc_dflt_{f.name}"] = f.default
                    params.append(f"{f.name}=_dc_dflt_{f.name}")
                elif f.default_factory is not _MISSING:
                    ns[f"_dc_fact_{f.name}"] = f.default_factory
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
        lines += [f"def __init__({', '.join(params)}):", *(body or ["    pass"])]
    if want["__repr__"]:
        parts = ", ".join(f"{f.name}={{self.{f.name}!r}}" for f in flds if f.repr)
        lines += ["def __repr__(self):", f"    return f'{{self.__class__.__qualname__}}({parts})'"]
    cmp = [f.name for f in flds if f.compare]
    if want["__eq__"]:
        mine = "".join(f"self.{n}," for n in cmp)
        theirs = "".join(f"other.{n}," for n in cmp)
        lines += [
            "def __eq__(self, other):",
            "    if other.__class__ is self.__class__:",
            f"        return ({mine}) == ({theirs})",
            "    return NotImplemented",
        ]
    if want["__hash__"]:
        hashed = "".join(
            f"self.{f.name}," for f in flds if (f.compare if f.hash is None else f.hash)
        )
        lines += ["def __hash__(self):", f"    return hash(({hashed}))"]
    if frozen:
        lines += [
            "def __setattr__(self, name, value):",
            "    if type(self) is _dc_cls or name in _dc_names:",
            "        raise _dc_frozen_error(f'cannot assign to field {name!r}')",
            "    super(_dc_cls, self).__setattr__(name, value)",
            "def __delattr__(self, name):",
            "    if type(self) is _dc_cls or name in _dc_names:",
            "        raise _dc_frozen_error(f'cannot delete field {name!r}')",
            "    super(_dc_cls, self).__delattr__(name)",
        ]
        if "__slots__" in cls.__dict__:  # pickling/copying a frozen slotted instance
            lines += [
                "def __getstate__(self):",
                "    return [getattr(self, n) for n in _dc_order]",
                "def __setstate__(self, state):",
                "    for n, v in zip(_dc_order, state):",
                "        _dc_object.__setattr__(self, n, v)",
            ]
            ns["_dc_order"] = tuple(f.name for f in flds)
    if not lines:
        return
    src = "\n".join(lines) + "\n"
    exec(_compiled(src, f"<dataclass {cls.__module__}.{cls.__qualname__}>"), ns)
    for name in (
        "__init__",
        "__repr__",
        "__eq__",
        "__hash__",
        "__setattr__",
        "__delattr__",
        "__getstate__",
        "__setstate__",
    ):
        fn = ns.get(name)
        if fn is not None:
            fn.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, fn)


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
    # The standard decorator tests each string annotation three times with a regular
    # expression (ClassVar? InitVar? KW_ONLY?); answered here, it sees stand-ins instead
    # and the strings are put back (in place: a slotted copy shares the dict).
    ann = body.get("__annotations__")
    saved = dict(ann) if ann else None
    if ann:
        for k, a in saved.items():  # type: ignore[union-attr]
            if isinstance(a, str):
                ann[k] = typing.ClassVar if a == "ClassVar" or a.startswith("ClassVar[") else _PLAIN
    try:
        new: type = dataclasses.dataclass(
            cls, init=False, repr=False, eq=False, frozen=False, slots=slots, match_args=match_args
        )
    finally:
        if saved:
            ann.update(saved)  # type: ignore[union-attr]
    if saved:
        for f in new.__dataclass_fields__.values():  # type: ignore[attr-defined]
            f.type = saved.get(f.name, f.type)
    if eq and not frozen and not explicit_hash:
        new.__hash__ = None  # type: ignore[assignment]
    _methods(new, frozen, want)
    return new


def _odd_classvar(a: str) -> bool:
    """A ClassVar spelt another way than ``ClassVar[...]`` (left to the standard code)."""
    return "ClassVar" in a and not (a == "ClassVar" or a.startswith("ClassVar["))


def _dataclass(cls: type | None = None, /, **kw: Any) -> Any:
    plain = set(kw) <= {"init", "repr", "eq", "frozen", "slots", "match_args"}

    def wrap(c: type) -> type:
        import inspect  # (already imported by dataclasses)

        ann = inspect.get_annotations(c)
        initvar = any(
            isinstance(a, dataclasses.InitVar)
            or (isinstance(a, str) and ("InitVar" in a or "KW_ONLY" in a or _odd_classvar(a)))
            for a in ann.values()
        )
        foreign = any(
            "__dataclass_fields__" in b.__dict__ and b not in _FAST for b in c.__mro__[1:]
        )
        own_setattr = kw.get("frozen") and (
            "__setattr__" in c.__dict__ or "__delattr__" in c.__dict__
        )
        if plain and not initvar and not foreign and not own_setattr:
            new = _fast(c, **kw)
            _FAST.add(new)
            return new
        return dataclasses.dataclass(c, **kw)

    return wrap if cls is None else wrap(cls)


if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:
    dataclass = _dataclass

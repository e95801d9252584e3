"""pybpf._fastenum: enums built by the stdlib's fast path equal those of a class
statement (the stdlib's own equivalence check), for every enum pybpf defines that way
and for a fallback without ``enum._simple_enum``."""

from __future__ import annotations

import enum
import importlib
import pickle
import pkgutil
from typing import Any

import pytest

import pybpf
from pybpf import _fastenum


def _import_all_users() -> None:
    root = pybpf.__path__[0]
    for info in pkgutil.walk_packages([root], "pybpf."):
        path = f"{root}/{info.name[6:].replace('.', '/')}"
        try:
            with open(f"{path}.py", encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        if "_fastenum import" in text:
            importlib.import_module(info.name)


def test_every_fast_enum_equals_its_class_statement() -> None:
    check = getattr(enum, "_test_simple_enum", None)
    assert check is not None, "enum._test_simple_enum (Python 3.11+) is gone: find another check"
    _import_all_users()
    assert len(_fastenum.MADE) >= 20  # btf.types, asm.opcodes, elf.* ...
    for cls, etype, body in _fastenum.MADE:
        twin = _fastenum.statement(cls.__name__, etype, body)
        check(twin, cls)  # raises TypeError naming every difference
        assert issubclass(cls, etype) and cls.__module__.startswith("pybpf.")
        for member in cls:
            assert pickle.loads(pickle.dumps(member)) is member


def test_methods_properties_aliases_and_flags() -> None:
    from pybpf.asm.opcodes import Class, Size
    from pybpf.btf.types import IntEncoding, Kind
    from pybpf.elf.sections import SecFlag

    assert Class.ALU.is_alu and not Class.LDX.is_alu and Size.DW.bytes == 8
    assert Kind(4) is Kind.STRUCT and Kind["UNION"] == 5 and isinstance(Kind.INT, int)
    both = SecFlag.ATTACHABLE | SecFlag.SLOPPY
    assert isinstance(both, SecFlag) and SecFlag.SLOPPY in both
    assert IntEncoding(0) == 0 and isinstance(IntEncoding.SIGNED | IntEncoding.BOOL, IntEncoding)
    with pytest.raises(ValueError):
        Kind(99)


@pytest.mark.parametrize("fast", [True, False], ids=["simple_enum", "statement"])
def test_new_class_both_routes(fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not fast:
        monkeypatch.setattr(_fastenum, "_simple_enum", None)
    before = len(_fastenum.MADE)

    class Color(_fastenum.FastIntFlag):  # type: ignore[misc]
        """Colours."""

        RED = 1
        GREEN = 2
        BOTH = 3

        def warm(self) -> bool:
            return bool(self & 1)

    made: Any = Color
    assert len(_fastenum.MADE) == before + 1
    assert issubclass(made, enum.IntFlag) and made.__doc__ == "Colours."
    assert made.BOTH == made.RED | made.GREEN and made.RED.warm() and not made.GREEN.warm()
    assert list(made.__members__) == ["RED", "GREEN", "BOTH"]
    check = getattr(enum, "_test_simple_enum", None)
    if check is not None:
        check(_fastenum.statement("Color", enum.IntFlag, _fastenum.MADE[-1][2]), made)
    del _fastenum.MADE[before:]

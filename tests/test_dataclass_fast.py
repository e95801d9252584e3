"""pybpf._dataclass behaves like the standard @dataclass for the options pybpf uses
(compared side by side on the same class bodies), and its code cache is only trusted
when it is this user's own file."""

from __future__ import annotations

import copy
import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.conftest import need

from pybpf import _dataclass

OPTIONS = [
    {},
    {"frozen": True},
    {"slots": True},
    {"frozen": True, "slots": True},
    {"eq": False},
    {"repr": False, "frozen": True},
]


def _make(deco: Any, **kw: Any) -> tuple[type, type]:
    @deco(**kw)
    class Base:
        """A base."""

        a: int
        b: str = "x"
        c: list[int] = dataclasses.field(default_factory=list)
        d: int = dataclasses.field(default=5, compare=False)
        e: int = dataclasses.field(default=0, repr=False, init=False)

    @deco(**kw)
    class Child(Base):
        f: float = 1.5

    return Base, Child


@pytest.mark.parametrize("kw", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_same_behaviour_as_the_standard_decorator(kw: dict[str, Any]) -> None:
    ours, std = _make(_dataclass._dataclass, **kw), _make(dataclasses.dataclass, **kw)
    for mine, theirs in zip(ours, std, strict=True):
        assert [f.name for f in dataclasses.fields(mine)] == [
            f.name for f in dataclasses.fields(theirs)
        ]
        assert mine.__match_args__ == theirs.__match_args__  # type: ignore[attr-defined]
        x, y = mine(1, "y", [2], 7), theirs(1, "y", [2], 7)
        if kw.get("repr", True):
            assert repr(x).replace("_make.<locals>.", "") == repr(y).replace("_make.<locals>.", "")
        assert (x == mine(1, "y", [2], 99)) == (y == theirs(1, "y", [2], 99))  # d: compare=False
        assert (x == mine(2)) == (y == theirs(2))
        assert (x.__class__.__hash__ is None) == (y.__class__.__hash__ is None)
        if x.__class__.__hash__ is not None and kw.get("frozen"):
            assert hash(mine(1, "y", (), 3)) == hash(mine(1, "y", (), 4))  # type: ignore[arg-type]
        assert mine(1).c == [] and mine(1).c is not mine(1).c  # a fresh default each time
        assert x.e == 0 and mine(1).b == "x"
        r = dataclasses.replace(x, a=9)
        assert (
            r.a == 9
            and r.b == "y"
            and dataclasses.asdict(r) == dataclasses.asdict(dataclasses.replace(y, a=9))
        )
        if kw.get("frozen"):
            with pytest.raises(dataclasses.FrozenInstanceError):
                x.a = 3
            with pytest.raises(dataclasses.FrozenInstanceError):
                del x.a
        else:
            x.a = 3
            assert x.a == 3
        assert ("__dict__" in dir(x)) == ("__dict__" in dir(y))


def test_pickle_and_copy_of_frozen_slotted_instances() -> None:
    global Point

    @_dataclass._dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 2

    Point.__qualname__ = "Point"  # importable for pickle
    p = Point(1)
    assert pickle.loads(pickle.dumps(p)) == p
    assert copy.copy(p) == p and copy.deepcopy(p) == p


def test_unusual_options_use_the_standard_decorator() -> None:
    @_dataclass._dataclass(order=True, frozen=True)
    class Ordered:
        a: int

    assert Ordered(1) < Ordered(2)

    @_dataclass._dataclass
    class Plain:
        a: int = 0

        def __eq__(self, other: object) -> bool:  # explicit methods are kept
            return True

    assert Plain(1) == Plain(2) and Plain.__hash__ is None


@pytest.mark.parametrize("kw", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_class_variables_and_annotations_as_the_standard_decorator(kw: dict[str, Any]) -> None:
    def make(deco: Any) -> type:
        @deco(**kw)
        class Kinded:
            kind: ClassVar[int] = 7
            bare: ClassVar = "b"  # type: ignore[type-arg]
            name: str
            size: int = 4

        return Kinded

    mine, theirs = make(_dataclass._dataclass), make(dataclasses.dataclass)
    assert (
        mine.__annotations__
        == theirs.__annotations__
        == {
            "kind": "ClassVar[int]",
            "bare": "ClassVar",
            "name": "str",
            "size": "int",
        }
    )
    assert (
        [(f.name, f.type) for f in dataclasses.fields(mine)]
        == [(f.name, f.type) for f in dataclasses.fields(theirs)]
        == [("name", "str"), ("size", "int")]
    )
    assert {k: f.type for k, f in mine.__dataclass_fields__.items()} == {  # type: ignore[attr-defined]
        k: f.type
        for k, f in theirs.__dataclass_fields__.items()  # type: ignore[attr-defined]
    }
    assert mine.kind == 7 and mine("n").size == 4 and mine.__match_args__ == ("name", "size")  # type: ignore[attr-defined,call-arg]


def test_keyword_only_marker_uses_the_standard_decorator() -> None:
    @_dataclass._dataclass
    class Kw:
        a: int
        _: dataclasses.KW_ONLY
        b: int = 1

    assert Kw not in _dataclass._FAST
    assert Kw(1, b=2).b == 2
    with pytest.raises(TypeError):
        Kw(1, 2)  # type: ignore[misc]


def _run(code: str, cache: Path | str) -> str:
    src = str(Path(_dataclass.__file__).resolve().parent.parent)
    env = dict(os.environ, PYBPF_CACHE_DIR=str(cache), PYTHONPATH=src)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout


CODE = """
from pybpf._dataclass import dataclass
import sys
@dataclass(frozen=True)
class T:
    a: int
    b: int = 2
print(T(1), T(1) == T(1, 2), hash(T(1)) == hash(T(1, 2)))
"""


def test_code_cache_is_written_reused_and_checked(tmp_path: Path) -> None:
    assert _run(CODE, tmp_path).strip() == "T(a=1, b=2) True True"
    files = list(tmp_path.glob("dataclass-code-*.bin"))
    assert len(files) == 1
    size = files[0].stat().st_size
    assert _run(CODE, tmp_path).strip() == "T(a=1, b=2) True True"  # from the cache
    assert files[0].stat().st_size == size  # nothing new to add
    files[0].chmod(0o666)  # writable by others: ignored (and rewritten)
    assert _run(CODE, tmp_path).strip() == "T(a=1, b=2) True True"
    files[0].write_bytes(b"garbage")
    assert _run(CODE, tmp_path).strip() == "T(a=1, b=2) True True"


def test_code_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = _run(CODE, "")  # PYBPF_CACHE_DIR="" turns every cache off
    assert out.strip() == "T(a=1, b=2) True True"
    assert list(tmp_path.iterdir()) == []


def _both(body: Any, **kw: Any) -> tuple[type, type]:
    """The class ``body(deco, field)`` made by pybpf's decorator and by the standard one."""
    return (
        body(_dataclass._dataclass(**kw), _dataclass._field),
        body(dataclasses.dataclass(**kw), dataclasses.field),
    )


def _fields_view(cls: type) -> list[tuple[Any, ...]]:
    return [
        (
            f.name,
            f.type,
            f.default,
            f.default_factory,
            f.init,
            f.repr,
            f.hash,
            f.compare,
            dict(f.metadata),
            f.kw_only,
            f._field_type,
        )
        for f in cls.__dataclass_fields__.values()  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("kw", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_own_field_and_lazy_standard_fields_equal_the_standard_decorator(
    kw: dict[str, Any],
) -> None:
    def body(deco: Any, fld: Any) -> type:
        @deco
        class Base:
            kind: ClassVar[int] = 3
            a: int
            b: list[int] = fld(default_factory=list, metadata={"m": 1})
            c: int = fld(default=4, repr=False, compare=False, hash=False)
            d: str = fld(default="d", init=False)

        @deco
        class Child(Base):
            a: int = 7  # overrides the base field in place
            e: float = 0.5

        return Child

    mine, theirs = _both(body, **kw)
    assert mine in _dataclass._FAST
    assert _fields_view(mine) == _fields_view(theirs)
    assert [f.name for f in dataclasses.fields(mine)] == ["a", "b", "c", "d", "e"]
    p, q = mine.__dataclass_params__, theirs.__dataclass_params__  # type: ignore[attr-defined]
    assert repr(p) == repr(q)
    assert dataclasses.is_dataclass(mine) and dataclasses.is_dataclass(mine())
    x, y = mine(), theirs()
    assert dataclasses.asdict(x) == dataclasses.asdict(y) == {
        "a": 7, "b": [], "c": 4, "d": "d", "e": 0.5,
    }  # fmt: skip
    assert mine.c == 4 if not kw.get("slots") else "c" not in vars(mine)  # type: ignore[attr-defined]
    if not kw.get("slots"):
        assert not hasattr(mine, "b") and not hasattr(theirs, "b")  # factory: no class attr
    assert mine.kind == theirs.kind == 3  # type: ignore[attr-defined]


def test_replace_as_the_standard_one() -> None:
    def body(deco: Any, fld: Any) -> type:
        @deco
        class R:
            a: int
            b: int = 2
            c: int = fld(default=9, init=False)

        return R

    mine, theirs = _both(body, frozen=True)
    r = _dataclass._replace(mine(1), b=5)
    assert (r.a, r.b, r.c) == (1, 5, 9)  # type: ignore[attr-defined]
    assert dataclasses.replace(mine(1), a=3) == mine(3)
    for fn, cls in ((_dataclass._replace, mine), (dataclasses.replace, theirs)):
        with pytest.raises(ValueError, match="init=False"):
            fn(cls(1), c=1)
        with pytest.raises(TypeError):
            fn(cls(1), zz=1)
    # a class the standard decorator made goes to the standard replace
    assert _dataclass._replace(theirs(1), b=3) == theirs(1, 3)


def _error(make: Any) -> tuple[type[BaseException], str]:
    try:
        make()
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc).replace("_make.<locals>.", "")
    raise AssertionError("no error")


def test_bad_class_bodies_fail_as_with_the_standard_decorator() -> None:
    def mutable(deco: Any, fld: Any) -> None:
        @deco
        class M:
            a: list[int] = []  # noqa: RUF012

    def order(deco: Any, fld: Any) -> None:
        @deco
        class Late:
            a: int = 1
            b: int

    def unannotated(deco: Any, fld: Any) -> None:
        @deco
        class U:
            a = fld(default=1)

    def both(deco: Any, fld: Any) -> None:
        fld(default=1, default_factory=list)

    def frozen_from_plain(deco: Any, fld: Any) -> None:
        @deco()
        class P:
            a: int = 0

        @deco(frozen=True)
        class F(P):
            b: int = 0

    def plain_from_frozen(deco: Any, fld: Any) -> None:
        @deco(frozen=True)
        class F:
            a: int = 0

        @deco()
        class P(F):
            b: int = 0

    for case in (mutable, order, unannotated, both):
        mine = _error(lambda c=case: c(_dataclass._dataclass, _dataclass._field))
        theirs = _error(lambda c=case: c(dataclasses.dataclass, dataclasses.field))
        assert mine == theirs, case.__name__
    for case in (frozen_from_plain, plain_from_frozen):
        mine = _error(lambda c=case: c(_dataclass._dataclass, _dataclass._field))
        theirs = _error(lambda c=case: c(dataclasses.dataclass, dataclasses.field))
        assert mine == theirs, case.__name__


def test_kw_only_field_goes_to_the_standard_decorator() -> None:
    @_dataclass._dataclass
    class K:
        a: int = _dataclass._field(default=0, kw_only=True)

    assert K not in _dataclass._FAST
    assert K(a=2).a == 2
    with pytest.raises(TypeError):
        K(2)  # type: ignore[misc]


LOAD_CODE = """
import sys
import pybpf
obj = pybpf.open(sys.argv[1])
obj.load()
obj.close()
print(sorted(m for m in ("dataclasses", "inspect", "ast", "dis", "tokenize") if m in sys.modules))
"""


def test_open_and_load_import_neither_dataclasses_nor_inspect(bpf_obj: Any) -> None:
    """The load path defines ~70 dataclasses without the standard module (and inspect)."""
    need(os.geteuid() == 0, "loading needs root")
    src = str(Path(_dataclass.__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", LOAD_CODE, str(bpf_obj("core"))],
        env=dict(os.environ, PYTHONPATH=src),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def test_code_cache_keeps_per_module_tables_of_the_current_shapes(tmp_path: Path) -> None:
    import marshal

    assert _run(CODE, tmp_path).strip() == "T(a=1, b=2) True True"
    changed = CODE.replace("    b: int = 2\n", "    b: int = 2\n    c: int = 3\n")
    assert _run(changed, tmp_path).strip() == "T(a=1, b=2, c=3) True True"
    (path,) = tmp_path.glob("dataclass-code-*.bin")
    table = marshal.loads(path.read_bytes())
    assert set(table) == {"__main__"}
    main = marshal.loads(table["__main__"])
    assert len(main) == 1 and "c=" in next(iter(main))  # the old shape was dropped
    size = path.stat().st_size
    assert _run(changed, tmp_path).strip() == "T(a=1, b=2, c=3) True True"
    assert path.stat().st_size == size

"""Name lookups: string search, the hashed index and a plain scan give the same ids."""

from __future__ import annotations

import struct

import pytest

from pybpf.btf import BTF, Kind
from pybpf.btf import reader as btf_reader
from pybpf.btf.reader import HEADER

INT = 1 << 24
STRUCT = 4 << 24
TYPEDEF = 8 << 24


def _blob(strings: bytes, records: list[tuple[int, ...]]) -> bytes:
    types = b"".join(struct.pack(f"<{len(r)}I", *r) for r in records)
    hdr = HEADER.pack(0xEB9F, 1, 0, HEADER.size, 0, len(types), len(types), len(strings))
    return hdr + types + strings


def _synthetic() -> tuple[bytes, dict[str, list[int]]]:
    """Names at string starts, inside longer strings, duplicated strings, invalid offsets."""
    strings = b"\0foo_bar\0bar\0int\0bar\0"
    foo_bar, bar1, int_, bar2 = 1, 9, 13, 17
    records = [
        (int_, INT, 4, 32),  # 1 int
        (foo_bar, STRUCT, 0),  # 2 foo_bar
        (foo_bar + 4, TYPEDEF, 1),  # 3 "bar": a suffix of "foo_bar"
        (bar1, TYPEDEF, 1),  # 4 bar
        (bar2, TYPEDEF, 1),  # 5 bar again, another copy of the string
        (0, TYPEDEF, 1),  # 6 anonymous (invalid for a typedef, fine for lookups)
        (foo_bar + 6, STRUCT, 0),  # 7 "r": a suffix
        (999, STRUCT, 0),  # 8 name offset out of range
    ]
    want = {"int": [1], "foo_bar": [2], "bar": [3, 4, 5], "r": [7], "ba": [], "o_bar": []}
    return _blob(strings, records), want


@pytest.mark.parametrize("small", [4096, 0])
def test_search_and_hashed_index_agree(small: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(btf_reader, "_SMALL", small)  # 0: string search first
    raw, want = _synthetic()
    b = BTF.from_bytes(raw)
    assert {n: b.find(n) for n in want} == want
    assert (b._name_hashes is None) == (small == 0)
    assert b.find("bar", Kind.TYPEDEF) == [3, 4, 5]
    assert b.find("bar", Kind.STRUCT) == []
    hashed = BTF.from_bytes(raw)
    hashed._build_name_index()
    assert hashed._all_starts is False  # type 3 names a suffix
    assert {n: hashed.find(n) for n in want} == want


def test_search_gives_up_to_the_index_after_many_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(btf_reader, "_SMALL", 0)
    raw, want = _synthetic()
    b = BTF.from_bytes(raw)
    for _ in range(btf_reader._SCAN_LIMIT):
        assert b.find("bar") == want["bar"]
    assert b._name_hashes is None
    assert b.find("foo_bar") == want["foo_bar"]
    assert b._name_hashes is not None


def test_split_btf_search_finds_base_strings(bpf_obj, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(btf_reader, "_SMALL", 0)
    base_raw, _ = _synthetic()
    base = BTF.from_bytes(base_raw)
    # split BTF: own string "baz", one type named by a base string, one by its own
    own = b"baz\0"
    start = len(b"\0foo_bar\0bar\0int\0bar\0")
    records = [(9, TYPEDEF, 1), (start, TYPEDEF, 1)]  # 9 -> base "bar"; start -> "baz"
    types = b"".join(struct.pack("<3I", *r) for r in records)
    hdr = HEADER.pack(0xEB9F, 1, 0, HEADER.size, 0, len(types), len(types), len(own))
    split = BTF.from_bytes(hdr + types + own, base=base)
    first = split.start_id
    assert split.find("bar") == [3, 4, 5, first]
    assert split.find("baz") == [first + 1]
    hashed = BTF.from_bytes(hdr + types + own, base=base)
    hashed._build_name_index()
    assert hashed.find("bar") == [3, 4, 5, first] and hashed.find("baz") == [first + 1]


def test_flavor_search_matches_the_flavor_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from pybpf.btf.core import match as core_match

    strings = b"\0task___a\0task\0task___b___c\0xtask___z\0task___\0task____d\0"
    records = [(1, STRUCT, 0), (11, STRUCT, 0), (16, STRUCT, 0), (29, STRUCT, 0)]
    b = BTF.from_bytes(_blob(strings, records))
    table = core_match.flavored_names(BTF.from_bytes(_blob(strings, records)))
    for ess in ("task", "task___b", "xtask", "nothing"):
        assert core_match.flavors_of(b, ess) == table.get(ess, []), ess
    assert "task___a" in table["task"] and table["task___b"] == ["task___b___c"]


def test_flavor_search_on_vmlinux_matches_the_table(kernel: None, vmlinux_btf: BTF) -> None:
    from pybpf.btf.core import match as core_match

    table = core_match.flavored_names(vmlinux_btf)
    assert table  # the kernel has ___flavor names (e.g. from tracepoint structs)
    fresh = BTF.from_file("/sys/kernel/btf/vmlinux")
    for ess in [*list(table)[:5], "task_struct", "no_such_type__"]:
        assert core_match.flavors_of(fresh, ess) == table.get(ess, []), ess

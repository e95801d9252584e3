"""Map.print_log2_hist / print_linear_hist print what BCC prints for the same data.

BCC's printers are BCC's own (Debian's python3-bpfcc, ``bcc.table``) called on a
stand-in table that yields ctypes keys and values, as BCC's tables do; pybpf's run
on real maps in the kernel holding the same counts.
"""

from __future__ import annotations

import contextlib
import ctypes as ct
import io
import random
import sys
from typing import Any

import pytest

import pybpf
from pybpf.histogram import linear_hist_lines, log2_hist_lines

BCC_DIST = "/usr/lib/python3/dist-packages"


def _bcc_table() -> Any:
    from tests.conftest import need

    if BCC_DIST not in sys.path:
        sys.path.append(BCC_DIST)
    try:
        import bcc.table as table
    except Exception as exc:  # ImportError, or libbcc missing
        need(False, f"BCC's Python module (python3-bpfcc) is not importable: {exc}")
        raise
    return table


class _Counter(ct.Structure):
    _fields_ = [("value", ct.c_ulonglong)]  # stand-in for BCC's c_ulonglong leaf


def _bcc_print(method: str, key_type: Any, pairs: list[tuple[Any, int]], **kwargs: Any) -> str:
    """Run BCC's TableBase.<method> on a stand-in table holding ``pairs``."""
    table = _bcc_table()

    class Stand:
        Key = key_type

        def items(self) -> list[tuple[Any, Any]]:
            out = []
            for k, v in pairs:
                key = key_type(*k) if isinstance(k, tuple) else key_type(k)
                out.append((key, ct.c_ulonglong(v)))
            return out

        decode_c_struct = table.TableBase.decode_c_struct

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        getattr(table.TableBase, method)(Stand(), **kwargs)
    return buf.getvalue()


def _ours(m: Any, method: str, **kwargs: Any) -> str:
    buf = io.StringIO()
    getattr(m, method)(file=buf, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="module")
def hm(bpf_obj: Any) -> Any:
    """hist_maps.bpf.o loaded once; each test clears the maps it fills."""
    from tests.conftest import _kernel_ok

    if not _kernel_ok()[0]:
        yield None
        return
    with pybpf.open(bpf_obj("hist_maps")) as obj:
        obj.load()
        yield obj


@pytest.fixture()
def maps(kernel: None, hm: Any) -> Any:
    for name in ("hm_hash", "hm_pid", "hm_comm"):
        hm.maps[name].clear()
    for name in ("hm_array", "hm_percpu"):
        m = hm.maps[name]
        for k in range(65):
            m[k] = 0 if name == "hm_array" else [0] * len(m[k])
    return hm.maps


CASES: list[tuple[str, dict[int, int]]] = [
    ("small", {1: 5, 2: 40, 3: 17, 5: 1}),
    ("zero slot only", {0: 9}),
    ("leading zeros", {6: 3, 7: 100, 9: 2}),
    ("wide (slot > 32)", {2: 1, 33: 7, 40: 3, 64: 1}),
    ("one", {1: 1}),
    ("empty", {}),
    ("random", {s: random.Random(7).randrange(0, 10**6) for s in range(0, 30)}),
]


def _fill(m: Any, counts: dict[int, int]) -> None:
    for k, v in counts.items():
        m[k] = v


@pytest.mark.parametrize(("label", "counts"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("strip", [None, True, False])
@pytest.mark.parametrize("val_type", ["value", "usecs", "a much longer label than usual"])
def test_log2_same_as_bcc(
    maps: Any, label: str, counts: dict[int, int], strip: bool | None, val_type: str
) -> None:
    m = maps["hm_hash"]
    _fill(m, counts)
    kw = {"val_type": val_type, "strip_leading_zero": strip}
    want = _bcc_print("print_log2_hist", ct.c_int, list(counts.items()), **kw)
    assert _ours(m, "print_log2_hist", **kw) == want
    if any(v for k, v in counts.items() if k > 0):
        assert want  # the comparison is not between two empty outputs
    else:
        assert want == ""  # BCC prints nothing when no slot above 0 is used
    # an array map (every slot present) prints the same
    a = maps["hm_array"]
    _fill(a, counts)
    assert _ours(a, "print_log2_hist", **kw) == want


@pytest.mark.parametrize("strip", [None, True])
def test_linear_same_as_bcc(maps: Any, strip: bool) -> None:
    counts = {0: 0, 3: 12, 4: 1, 7: 30, 20: 4}
    m = maps["hm_hash"]
    _fill(m, counts)
    kw = {"val_type": "cpu", "strip_leading_zero": strip}
    want = _bcc_print("print_linear_hist", ct.c_int, list(counts.items()), **kw)
    assert want.count("\n") > 10
    assert _ours(m, "print_linear_hist", **kw) == want


class _SecKey(ct.Structure):
    _fields_ = [("comm", ct.c_char * 16), ("slot", ct.c_ulonglong)]


class _PidKey(ct.Structure):
    _fields_ = [("pid", ct.c_uint), ("slot", ct.c_uint)]


SECTION_KWARGS: list[dict[str, Any]] = [
    {},
    {"section_header": "pid", "val_type": "bytes"},
    {"section_print_fn": lambda b: f"<{b}>", "strip_leading_zero": True},
    {"bucket_fn": lambda b: b * 2, "bucket_sort_fn": sorted},
]


@pytest.mark.parametrize("kw", SECTION_KWARGS)
def test_sections_same_as_bcc(maps: Any, kw: dict[str, Any]) -> None:
    """Struct keys {bucket, slot}: one histogram per bucket, BCC's section lines."""
    pairs = [((7, 3), 5), ((7, 4), 9), ((3, 10), 2), ((7, 1), 1), ((3, 2), 1), ((9, 40), 4)]
    m = maps["hm_pid"]
    for (pid, slot), v in pairs:
        m[{"pid": pid, "slot": slot}] = v
    # BCC keeps buckets in the order the table yields them: feed it ours
    order = [(k.pid, k.slot) for k in m]
    pairs = sorted(pairs, key=lambda p: order.index(p[0]))
    for method in ("print_log2_hist", "print_linear_hist"):
        want = _bcc_print(method, _PidKey, pairs, **kw)
        assert want.count("\n\n") >= 2 or want.count(" = ") >= 3
        assert _ours(m, method, **kw) == want


def test_sections_with_string_buckets_same_as_bcc(maps: Any) -> None:
    pairs = [((b"bash", 3), 5), ((b"python3", 12), 9), ((b"bash", 5), 2)]
    m = maps["hm_comm"]
    for (comm, slot), v in pairs:
        m[{"comm": comm, "slot": slot}] = v
    order = [(k.comm, k.slot) for k in m]
    pairs = sorted(pairs, key=lambda p: order.index(p[0]))
    kw = {"section_header": "comm", "section_print_fn": bytes.decode}
    want = _bcc_print("print_log2_hist", _SecKey, pairs, **kw)
    assert "comm = bash" in want and "comm = python3" in want
    assert _ours(m, "print_log2_hist", **kw) == want
    want = _bcc_print("print_log2_hist", _SecKey, pairs)
    assert "Bucket ptr = b'bash'" in want
    assert _ours(m, "print_log2_hist") == want


def test_percpu_counts_are_summed(maps: Any) -> None:
    m = maps["hm_percpu"]
    ncpu = len(m[0])
    m[3] = [2] * ncpu
    m[5] = [1] + [0] * (ncpu - 1)
    want = _bcc_print("print_log2_hist", ct.c_int, [(3, 2 * ncpu), (5, 1)])
    assert _ours(m, "print_log2_hist") == want


def test_rich_rendering(maps: Any) -> None:
    from rich.console import Console

    m = maps["hm_hash"]
    _fill(m, {1: 4, 2: 8, 4: 2})
    con = Console(width=100, record=True, file=io.StringIO())
    con.print(m.rich_log2_hist("usecs"))
    text = con.export_text()
    lines = [line for line in text.splitlines() if "->" in line]
    assert [line.split()[:4] for line in lines] == [
        ["0", "->", "1", "4"],
        ["2", "->", "3", "8"],
        ["4", "->", "7", "0"],
        ["8", "->", "15", "2"],
    ]
    assert "usecs" in text and "distribution" in text
    assert lines[1].count("█") == 40 and lines[0].count("█") == 20


def test_pure_functions_match_bcc_module_helpers() -> None:
    table = _bcc_table()
    rng = random.Random(3)
    for _ in range(200):
        n = rng.randrange(1, 66)
        vals = [rng.choice([0, 0, 1, rng.randrange(1, 10**9)]) for _ in range(n)]
        vals += [0] * (65 - n)
        strip = rng.choice([None, True, False])
        for ours, theirs in (
            (log2_hist_lines, table._print_log2_hist),
            (linear_hist_lines, table._print_linear_hist),
        ):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                theirs(vals, "v", strip)
            got = "".join(line + "\n" for line in ours(vals, "v", strip))
            assert got == buf.getvalue()

"""Event types by BTF name as numpy dtypes; dataframes and arrays of rings and maps."""

from __future__ import annotations

from typing import Any

import pytest

import pybpf
from pybpf.errors import BTFError

VALUES = [5, 0, 1 << 40, 77] + [3] * 12


@pytest.fixture()
def hh(kernel: None, bpf_obj: Any) -> Any:
    with pybpf.open(bpf_obj("header_hist")) as obj:
        obj.load()
        obj.globals["in"] = VALUES
        yield obj


def test_batch_numpy_dtype_by_btf_name(hh: Any) -> None:
    with hh.ringbuf("hh_rb") as rb:
        hh.programs["hh_run"].test_run()
        with rb.batch(numpy_dtype="hh_event") as b:
            arr = b.array
            assert arr.dtype.names == ("value", "slot", "tag")
            assert arr["value"].tolist() == VALUES
            assert arr["slot"].tolist() == [v.bit_length() for v in VALUES]
            df = b.to_pandas()
        assert list(df.columns) == ["value", "slot", "tag"]
        assert df["value"].tolist() == VALUES  # copied: valid after release
        assert set(df["tag"]) == {"hh!"}
        # "struct hh_event" works too, and consume_batch takes the name as well
        hh.programs["hh_run"].test_run()
        seen: list[int] = []
        n = rb.consume_batch(
            lambda a: seen.extend(a["value"].tolist()), numpy_dtype="struct hh_event"
        )
        assert n == len(VALUES) and seen == VALUES


def test_batch_to_pandas_with_event_type_decoder(hh: Any) -> None:
    with hh.ringbuf("hh_rb", event_type="hh_event") as rb:
        hh.programs["hh_run"].test_run()
        with rb.batch() as b:
            df = b.to_pandas()
    assert df["value"].tolist() == VALUES
    assert df["tag"].tolist() == [b"hh!"] * len(VALUES)


def test_numpy_strings_still_work_and_unknown_names_say_pybpf_event(hh: Any) -> None:
    with hh.ringbuf("hh_rb") as rb:
        hh.programs["hh_run"].test_run()
        with rb.batch(numpy_dtype="V16") as b:
            assert b.array.dtype.itemsize == 16 and len(b.array) == len(VALUES)
        with pytest.raises(BTFError, match=r"no type 'evnt'.*PYBPF_EVENT\(struct evnt\)"):
            rb.batch(numpy_dtype="evnt")
        with rb.batch() as b, pytest.raises(pybpf.errors.EventError, match="typed records"):
            b.to_pandas()


@pytest.fixture()
def hm(kernel: None, bpf_obj: Any) -> Any:
    with pybpf.open(bpf_obj("hist_maps")) as obj:
        obj.load()
        yield obj


def test_map_to_numpy_and_pandas_struct_keys(hm: Any) -> None:
    m = hm.maps["hm_pid"]
    want = {(1, 2): 10, (1, 3): 20, (42, 0): 7}
    for (pid, slot), v in want.items():
        m[{"pid": pid, "slot": slot}] = v
    arr = m.to_numpy()
    assert arr.dtype.names == ("key", "value")
    got = {
        (int(k["pid"]), int(k["slot"])): int(v)
        for k, v in zip(arr["key"], arr["value"], strict=True)
    }
    assert got == want
    df = m.to_pandas()
    assert list(df.columns) == ["pid", "slot", "value"]
    assert {(r.pid, r.slot): r.value for r in df.itertuples()} == want

    c = hm.maps["hm_comm"]
    c[{"comm": "bash", "slot": 4}] = 3
    df = c.to_pandas()
    assert df.to_dict("records") == [{"comm": "bash", "slot": 4, "value": 3}]


def test_map_to_pandas_scalar_and_percpu(hm: Any) -> None:
    h = hm.maps["hm_hash"]
    h.update_batch([(i, i * i) for i in range(50)])
    df = h.to_pandas()
    assert list(df.columns) == ["key", "value"]
    assert dict(zip(df["key"], df["value"], strict=True)) == {i: i * i for i in range(50)}

    p = hm.maps["hm_percpu"]
    ncpu = len(p[0])
    p[3] = list(range(1, ncpu + 1))
    arr = p.to_numpy()
    assert arr.shape == (65,) and arr["value"].shape == (65, ncpu)
    df = p.to_pandas()
    assert list(df.columns) == ["key", "cpu", "value"]
    assert len(df) == 65 * ncpu
    rows = df[df["key"] == 3]
    assert rows["value"].tolist() == list(range(1, ncpu + 1))
    assert rows["cpu"].tolist() == list(range(ncpu))

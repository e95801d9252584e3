"""Truncated or corrupted BTF (and .BTF.ext) raises BTFError and nothing else, however
it is used: queries, raw dump, C dump (bounded output), layouts (zero, encode, decode).

The coverage-guided fuzzer over all readers is scripts/fuzz.sh (tests/fuzz/)."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import BTF
from pybpf.btf.cdump import dump_c
from pybpf.btf.cdump.decl import output_limit
from pybpf.btf.dump import format_raw
from pybpf.btf.elfsec import btf_sections
from pybpf.btf.ext import BTFExt
from pybpf.btf.layout import Layout
from pybpf.errors import BTFError

_BLOBS: dict[str, bytes] = {}


def _blob(bpf_obj, name: str) -> bytes:  # type: ignore[no-untyped-def]
    if name not in _BLOBS:
        raw, _ = btf_sections(bpf_obj(name).read_bytes())
        assert raw is not None
        _BLOBS[name] = raw
    return _BLOBS[name]


def _exercise(b: BTF) -> None:
    for tid in range(1, len(b)):
        for op in (b.type, b.type_name, b.size_of, b.align_of, b.resolve, b.name_of):
            with contextlib.suppress(BTFError):
                op(tid)
        try:
            format_raw(b, tid)
            lay = Layout.for_type(b, tid)
            if lay.size <= 1 << 16:
                assert lay.decode(lay.encode(lay.zero())) == lay.zero()
        except BTFError:
            pass
    try:
        b.find("btf_event")
        b.encode(dict(b.own_types()))
    except BTFError:
        pass
    with contextlib.suppress(BTFError):
        assert len(dump_c(b)) <= output_limit(len(b.data))


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), name=st.sampled_from(["btf_types", "core", "maps"]))
def test_corruption_raises_btferror_only(bpf_obj, data: st.DataObject, name: str) -> None:  # type: ignore[no-untyped-def]
    blob = bytearray(_blob(bpf_obj, name))
    cut = data.draw(st.integers(0, len(blob)))
    for _ in range(data.draw(st.integers(0, 6))):
        # bias corruption towards the header and the first type records
        pos = data.draw(st.one_of(st.integers(0, 200), st.integers(0, len(blob) - 1)))
        blob[min(pos, len(blob) - 1)] = data.draw(st.integers(0, 255))
    try:
        b = BTF.from_bytes(bytes(blob[: cut or len(blob)]))
    except BTFError as exc:
        assert exc.section == ".BTF"
        return
    _exercise(b)


def test_every_truncation_of_a_small_blob(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    blob = _blob(bpf_obj, "maps")
    for n in range(len(blob)):
        with contextlib.suppress(BTFError):
            _exercise(BTF.from_bytes(blob[:n]))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), name=st.sampled_from(["core", "cli_run", "maps"]))
def test_ext_corruption_raises_btferror_only(bpf_obj, data: st.DataObject, name: str) -> None:  # type: ignore[no-untyped-def]
    raw, ext = btf_sections(bpf_obj(name).read_bytes())
    assert raw is not None and ext is not None
    blob = bytearray(ext)
    cut = data.draw(st.integers(0, len(blob)))
    for _ in range(data.draw(st.integers(0, 6))):
        pos = data.draw(st.one_of(st.integers(0, 64), st.integers(0, len(blob) - 1)))
        blob[min(pos, len(blob) - 1)] = data.draw(st.integers(0, 255))
    try:
        e = BTFExt.from_bytes(bytes(blob[: cut or len(blob)]), BTF.from_bytes(raw))
    except BTFError as exc:
        assert exc.section == ".BTF.ext" and not exc.unexpected
        return
    for recs in e.core_relos.values():
        for r in recs:
            with contextlib.suppress(BTFError):
                assert isinstance(r.access_spec, tuple)

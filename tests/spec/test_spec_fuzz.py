"""Corrupted and truncated real objects: ObjectSpec raises ObjectError and nothing else.

The parser has a last-resort net that turns unexpected Python exceptions into
ObjectError("malformed object (unexpected ...)"); these tests also fail when that
net is what caught the problem, so every malformation must be diagnosed properly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf import ObjectSpec
from pybpf.errors import ObjectError

OBJECTS = ("legacy_tracex", "tailcall", "maps", "spec_struct_ops", "spec_multi", "core", "globals")
NET = "malformed object (unexpected"


def _parse(data: bytes) -> None:
    try:
        ObjectSpec.from_bytes(data, file="fuzz.o")
    except ObjectError as exc:
        assert exc.file == "fuzz.o"
        assert NET not in str(exc), f"undiagnosed malformation: {exc}"


@pytest.fixture(scope="module")
def blobs(bpf_obj: Callable[[str], Path]) -> dict[str, bytes]:
    return {n: bpf_obj(n).read_bytes() for n in OBJECTS}


@pytest.fixture(scope="module")
def interesting(blobs: dict[str, bytes]) -> dict[str, list[tuple[int, int]]]:
    """(offset, size) of the parts worth corrupting: headers and the non-DWARF sections."""
    out: dict[str, list[tuple[int, int]]] = {}
    for name, data in blobs.items():
        spec = ObjectSpec.from_bytes(data)
        parts = [(0, 64)]
        for s in spec.sections:
            debug = s.name.startswith((".debug", ".rel.debug"))
            if s.index and s.size and not debug and not s.is_nobits:
                parts.append((s.offset, s.size))
        shoff = int.from_bytes(data[40:48], "little")
        parts.append((shoff, 64 * len(spec.sections)))
        out[name] = parts
    return out


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_truncated_objects(blobs: dict[str, bytes], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(OBJECTS))
    blob = blobs[name]
    cut = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    _parse(blob[:cut])


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_corrupted_objects(
    blobs: dict[str, bytes], interesting: dict[str, list[tuple[int, int]]], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(OBJECTS))
    buf = bytearray(blobs[name])
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        off, size = data.draw(st.sampled_from(interesting[name]))
        pos = off + data.draw(st.integers(min_value=0, max_value=max(size - 1, 0)))
        if pos >= len(buf):
            continue
        width = data.draw(st.sampled_from((1, 2, 4)))
        value = data.draw(st.integers(min_value=0, max_value=(1 << (8 * width)) - 1))
        chunk = value.to_bytes(width, "little")[: len(buf) - pos]
        buf[pos : pos + len(chunk)] = chunk
    _parse(bytes(buf))


def test_not_an_object() -> None:
    for junk in (b"", b"\x7fELF", b"hello world" * 10, bytes(4096)):
        with pytest.raises(ObjectError):
            ObjectSpec.from_bytes(junk)

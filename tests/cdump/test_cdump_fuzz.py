"""Corrupted BTF makes the C dumper raise BTFError (or dump), never anything else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import BTF
from pybpf.btf.cdump import dump_c
from pybpf.btf.elfsec import btf_sections
from pybpf.errors import BTFError

_BLOBS: dict[str, bytes] = {}


def _blob(bpf_objects: Path, name: str) -> bytes:
    if name not in _BLOBS:
        raw, _ = btf_sections((bpf_objects / f"{name}.bpf.o").read_bytes())
        assert raw is not None
        _BLOBS[name] = raw
    return _BLOBS[name]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), name=st.sampled_from(["cdump_types", "btf_types"]))
def test_corrupted_btf_dumps_or_raises_btferror(
    bpf_objects: Path, data: st.DataObject, name: str
) -> None:
    blob = bytearray(_blob(bpf_objects, name))
    type_start = 24
    type_end = 24 + int.from_bytes(blob[12:16], "little")
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(type_start, type_end - 1))
        blob[pos] = data.draw(st.integers(0, 255))
    try:
        btf = BTF.from_bytes(bytes(blob))
    except BTFError:
        return
    try:
        text = dump_c(btf)
    except BTFError as exc:
        assert exc.section == ".BTF"
        return
    assert text.endswith("#endif /* __VMLINUX_H__ */\n")

"""BTF sanitizing for kernels that lack newer BTF kinds: the rewritten BTF keeps
every type id and the kernel accepts it."""

from __future__ import annotations

import pytest

from pybpf.btf import BTF, Kind
from pybpf.elf.spec import ObjectSpec
from pybpf.plan.btf_sanitize import sanitize_btf, sanitize_overrides
from pybpf.sys.btf import btf_load

NONE_SUPPORTED = dict.fromkeys(
    ("func", "func_global", "datasec", "float", "decl_tag", "type_tag", "enum64"), False
)
NEW_KINDS = {
    Kind.VAR,
    Kind.DATASEC,
    Kind.FLOAT,
    Kind.DECL_TAG,
    Kind.TYPE_TAG,
    Kind.ENUM64,
    Kind.FUNC,
    Kind.FUNC_PROTO,
}


def _objects(bpf_objects):  # type: ignore[no-untyped-def]
    out = []
    for path in sorted(bpf_objects.glob("*.bpf.o")):
        spec = ObjectSpec.from_file(path)
        if spec.btf is not None:
            out.append((path.name, spec.btf))
    return out


def test_sanitized_btf_has_no_new_kinds_and_same_ids(bpf_objects) -> None:  # type: ignore[no-untyped-def]
    for name, btf in _objects(bpf_objects):
        clean = BTF.from_bytes(sanitize_btf(btf, NONE_SUPPORTED))
        assert len(clean) == len(btf), name
        kinds = {t.kind for _, t in clean}
        assert not kinds & NEW_KINDS, (name, kinds & NEW_KINDS)


def test_nothing_changes_when_the_kernel_has_everything(bpf_objects) -> None:  # type: ignore[no-untyped-def]
    for _, btf in _objects(bpf_objects):
        assert sanitize_overrides(btf, dict.fromkeys(NONE_SUPPORTED, True)) == {}


@pytest.mark.usefixtures("kernel")
def test_kernel_accepts_sanitized_btf(bpf_objects) -> None:  # type: ignore[no-untyped-def]
    for name, btf in _objects(bpf_objects):
        fd = btf_load(sanitize_btf(btf, NONE_SUPPORTED))
        assert fd.fileno() > 0, name
        fd.close()

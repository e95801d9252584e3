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


def _gcc_style_btf() -> bytes:
    """What GCC 12's BPF back end emits and no kernel accepts: a SIGNED|CHAR int, a FWD
    with a non-zero type field, a nameless FUNC."""
    import struct

    strs = b"\0signed char\0fwd_s\0"
    types = b"".join(
        [
            struct.pack("<IIII", 1, 1 << 24, 1, (3 << 24) | 8),  # [1] INT, encoding SIGNED|CHAR
            struct.pack("<III", 13, 7 << 24, 5),  # [2] FWD struct fwd_s, type 5
            struct.pack("<III", 0, 13 << 24, 1),  # [3] FUNC_PROTO signed char (void)
            struct.pack("<III", 0, 12 << 24, 3),  # [4] FUNC without a name
        ]
    )
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    return header + types + strs


@pytest.mark.usefixtures("kernel")
def test_gcc_btf_quirks_are_sanitized_for_the_kernel() -> None:
    from pybpf.btf import Func, Fwd, Int, IntEncoding, Ptr
    from pybpf.errors import KernelError

    btf = BTF.from_bytes(_gcc_style_btf())
    with pytest.raises(KernelError):
        btf_load(btf.encode())
    new = sanitize_overrides(btf, dict.fromkeys(NONE_SUPPORTED, True))
    assert new == {
        1: Int("signed char", 1, IntEncoding.SIGNED, 8, 0),
        2: Fwd("fwd_s"),
        4: Ptr(3),
    }
    assert isinstance(btf[4], Func)
    with btf_load(sanitize_btf(btf, dict.fromkeys(NONE_SUPPORTED, True))) as fd:
        assert fd.fileno() >= 0


def test_bytes_sent_are_what_encoding_gives(bpf_objects) -> None:  # type: ignore[no-untyped-def]
    """With nothing to replace the object's own bytes are sent: always the same bytes as
    re-encoding, for every test and tool object and for each missing kind."""
    from pathlib import Path

    import pybpf.tools

    objects = _objects(bpf_objects) + _objects(Path(pybpf.tools.__file__).parent / "objects")
    settings = [dict.fromkeys(NONE_SUPPORTED, True), NONE_SUPPORTED] + [
        {**dict.fromkeys(NONE_SUPPORTED, True), kind: False} for kind in NONE_SUPPORTED
    ]
    as_is = 0
    for name, btf in objects:
        for kinds in settings:
            sent = sanitize_btf(btf, kinds)
            assert sent == btf.encode(sanitize_overrides(btf, kinds) or None), (name, kinds)
            as_is += sent is btf.data
    assert as_is >= len(objects)  # the shortcut is taken (at least with every kind known)


def test_an_unusual_layout_is_re_encoded() -> None:
    """A blob with a longer header or strings before types is not sent as it is."""
    import struct

    types = struct.pack("<III", 1, 1 << 24, 4) + struct.pack("<I", (1 << 24) | 32)  # int
    strs = b"\0int\0"
    every = dict.fromkeys(NONE_SUPPORTED, True)
    blobs = [
        struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 32, 0, 16, 16, 5) + bytes(8) + types + strs,
        struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 8, 16, 0, 5) + strs + bytes(3) + types,
        struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 16, 16, 5) + types + strs + bytes(4),
    ]
    canonical = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 16, 16, 5) + types + strs
    for blob in blobs:
        btf = BTF.from_bytes(blob)
        sent = sanitize_btf(btf, every)
        assert sent == canonical and sent == btf.encode()
    assert sanitize_btf(BTF.from_bytes(canonical), every) == canonical

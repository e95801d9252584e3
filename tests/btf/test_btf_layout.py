"""Layouts: values encode to the bytes a C compiler lays out, and decode back."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from tests.conftest import need_tool

from pybpf.btf import BTF, Kind
from pybpf.btf.layout import EnumInt, Layout, Record, numpy_dtype
from pybpf.errors import BTFError

# The same declarations as tests/bpf/btf_types.bpf.c, compiled for the host.
C_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include <stdint.h>
enum btf_color { BTF_RED = 0, BTF_GREEN = 1, BTF_BLUE = 7 };
struct btf_bits {
    unsigned int a : 3; unsigned int b : 5; int c : 7; unsigned long long d : 40;
    unsigned char e; _Bool flag : 1; enum btf_color color : 4;
};
struct btf_packed { char c; uint32_t x; uint16_t y; } __attribute__((packed));
static void dump(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}
int main(void) {
    struct btf_bits s; memset(&s, 0, sizeof(s));
    s.a = 5; s.b = 17; s.c = -40; s.d = 0xABCDEF0123ULL; s.e = 200; s.flag = 1; s.color = BTF_BLUE;
    dump(&s, sizeof(s));
    struct btf_packed p = { 'Z', 0x11223344, 0xBEEF };
    dump(&p, sizeof(p));
    return 0;
}
"""


@pytest.fixture(scope="module")
def c_bytes(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    cc = shutil.which("cc") or need_tool("gcc", "lays out the reference C structs")
    d = tmp_path_factory.mktemp("c")
    (d / "t.c").write_text(C_PROGRAM)
    subprocess.run([cc, "-o", str(d / "t"), str(d / "t.c")], check=True)
    out = subprocess.run([str(d / "t")], capture_output=True, text=True, check=True).stdout
    return [bytes.fromhex(line) for line in out.split()]


@pytest.fixture(scope="module")
def btf(bpf_objects: Path) -> BTF:
    return BTF.from_file(bpf_objects / "btf_types.bpf.o")


BITS = {"a": 5, "b": 17, "c": -40, "d": 0xABCDEF0123, "e": 200, "flag": True, "color": 7}


def test_bitfields_match_c(btf: BTF, c_bytes: list[bytes]) -> None:
    lay = Layout.for_type(btf, btf.find_one("btf_bits", Kind.STRUCT))
    assert lay.size == len(c_bytes[0]) == 16
    assert lay.encode(BITS) == c_bytes[0]
    assert lay.encode({**BITS, "color": "BTF_BLUE"}) == c_bytes[0]
    got = lay.decode(c_bytes[0])
    assert got == BITS
    assert got.c == -40 and got["d"] == 0xABCDEF0123 and got.flag is True
    assert isinstance(got.color, EnumInt) and got.color.name == "BTF_BLUE"
    with pytest.raises(BTFError, match="does not fit"):
        lay.encode({"a": 8})


def test_packed_struct_fast_path(btf: BTF, c_bytes: list[bytes]) -> None:
    lay = Layout.for_type(btf, btf.find_one("btf_packed", Kind.STRUCT))
    assert lay.fmt is not None  # scalar-only: one precompiled struct.Struct
    assert lay.encode({"c": ord("Z"), "x": 0x11223344, "y": 0xBEEF}) == c_bytes[1]
    rec = lay.decode(b"\0" + c_bytes[1], 1)
    assert isinstance(rec, Record) and tuple(rec) == (ord("Z"), 0x11223344, 0xBEEF)
    assert rec._asdict() == {"c": 90, "x": 0x11223344, "y": 0xBEEF}
    assert lay.encode(rec) == c_bytes[1]
    with pytest.raises(BTFError, match=r"too few|cannot decode"):
        lay.decode(c_bytes[1][:-1])


def test_event_round_trip(btf: BTF) -> None:
    ev = btf.find_one("btf_event", Kind.STRUCT)
    lay = Layout.for_type(btf, ev)
    assert lay.size == btf.size_of(ev) == 176
    value = {
        "pid": 4242, "delta": -7, "comm": "python3", "color": "BTF_GREEN", "sign": -2,
        "big": 0xFFFFFFFF00000000, "counts": [1, 2, 3, 4], "bits": BITS,
        "val": {"u": 0x0102030405060708, "s": [0x05060708, 0x01020304],
                "bytes": b"\x08\x07\x06\x05\x04\x03\x02\x01", "d": struct.unpack("<d", bytes(range(8, 0, -1)))[0]},
        "ratio": 0.25, "mean": -1.5, "nested": [[1, 2, 3], [-4, 5, 6]], "ptr": 0xFFFF888000000000,
        "tagged": 16, "cb": 0, "ok": True,
    }  # fmt: skip
    raw = lay.encode(value)
    got = lay.decode(raw)
    assert got == {**value, "comm": b"python3", "color": 1}
    assert got.sign.name == "BTF_NEG" and got.big.name == "BTF_BIG_TOP"
    assert raw[6:13] == b"python3" and raw[13:22] == bytes(9)
    assert struct.unpack_from("<I", raw, 0)[0] == 4242
    assert lay.decode(bytes(176)) == lay.zero()


def test_vmlinux_iphdr_and_pointers(kernel: None, vmlinux_btf: BTF) -> None:
    # a real IPv4 header: version/ihl are little-endian bitfields in BTF
    packet = bytes.fromhex("4500003c1c4640004006b1e6ac100a63ac100a0c")
    lay = Layout.for_type(vmlinux_btf, vmlinux_btf.find_one("iphdr", Kind.STRUCT))
    hdr = lay.decode(packet)
    assert (hdr.version, hdr.ihl, hdr.ttl, hdr.protocol) == (4, 5, 64, 6)
    assert hdr.saddr == int.from_bytes(bytes([172, 16, 10, 99]), "little")
    assert lay.encode(hdr) == packet
    task = Layout.for_type(vmlinux_btf, vmlinux_btf.find_one("task_struct", Kind.STRUCT))
    zero = task.zero()
    assert (
        zero.pid == 0
        and zero.comm == b""
        and task.size == vmlinux_btf.size_of(vmlinux_btf.find_one("task_struct", Kind.STRUCT))
    )


def test_numpy_dtype(btf: BTF) -> None:
    import numpy as np  # the test extra installs it

    ev = btf.find_one("btf_event", Kind.STRUCT)
    dt = numpy_dtype(btf, ev)
    assert dt.itemsize == 176
    lay = Layout.for_type(btf, ev)
    raw = lay.encode({"pid": 7, "comm": "abc", "nested": [[1, 2, 3], [4, 5, 6]], "mean": 2.5})
    arr = np.frombuffer(raw * 3, dtype=dt)
    assert list(arr["pid"]) == [7, 7, 7]
    assert arr[1]["comm"] == b"abc" and arr[2]["mean"] == 2.5
    assert arr[0]["nested"].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert dt.fields["val"][1] == 72  # union member at its offset


def test_compiled_layouts_are_kept_per_btf_and_dropped_with_it(bpf_objects: Path) -> None:
    """Layouts are memoised per BTF object; the memo goes when the BTF is freed."""
    import gc

    from pybpf.btf import layout

    own = BTF.from_file(bpf_objects / "btf_types.bpf.o")
    tid = own.find_one("btf_event", Kind.STRUCT)
    assert Layout.for_type(own, tid) is Layout.for_type(own, tid)
    key = id(own)
    assert tid in layout._LAYOUTS[key]
    del own
    gc.collect()
    assert key not in layout._LAYOUTS

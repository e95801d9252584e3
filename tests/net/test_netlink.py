"""The rtnetlink message layer: layouts and attribute policies (pure), and errors."""

from __future__ import annotations

import pytest

from pybpf.sys.netlink import IFLA, TCA, TCMSG, Layout, Message, iter_attrs


def test_layout_roundtrip() -> None:
    raw = TCMSG.pack({"ifindex": 7, "handle": 1, "parent": 0xFFFFFFF2, "info": 0x10300})
    assert len(raw) == TCMSG.size == 20
    assert TCMSG.unpack(raw) == {
        "family": 0, "ifindex": 7, "handle": 1, "parent": 0xFFFFFFF2, "info": 0x10300,
    }  # fmt: skip
    with pytest.raises(ValueError, match="no field"):
        TCMSG.pack({"bogus": 1})
    with pytest.raises(ValueError, match="need 20"):
        TCMSG.unpack(raw[:10])
    assert Layout("x", "=I", ("a",)).size == 4


def test_policy_roundtrip_nested() -> None:
    attrs = {"kind": "bpf", "options": {"fd": 5, "name": "prog", "flags": 1}}
    data = TCA.encode(attrs)
    assert len(data) % 4 == 0
    assert TCA.decode(data) == attrs
    xdp = IFLA.encode({"xdp": {"fd": -1, "flags": 2, "expected_fd": 9}})
    assert IFLA.decode(xdp) == {"xdp": {"fd": -1, "flags": 2, "expected_fd": 9}}
    with pytest.raises(ValueError, match="no attribute"):
        TCA.encode({"nope": 1})


def test_truncated_and_unknown_attributes() -> None:
    data = TCA.encode({"kind": "clsact"}) + b"\x08\x00\x63\x00\x01\x02\x03\x04"
    assert TCA.decode(data) == {"kind": "clsact", "#99": b"\x01\x02\x03\x04"}
    assert list(iter_attrs(data[:-3])) == [(1, b"clsact\0")]  # cut attribute dropped


def test_message_encoding() -> None:
    msg = Message(44, TCMSG, {"ifindex": 3}, TCA, {"kind": "bpf"}, flags=0x400)
    raw = msg.encode(seq=9)
    assert int.from_bytes(raw[:4], "little") == len(raw)
    assert int.from_bytes(raw[4:6], "little") == 44
    assert int.from_bytes(raw[8:12], "little") == 9
    back = Message.decode(44, 0, raw[16:], TCMSG, TCA)
    assert back.header["ifindex"] == 3 and back.attrs == {"kind": "bpf"}

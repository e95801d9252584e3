"""A small rtnetlink client: declarative message layouts and attribute policies.

XDP (IFLA_XDP) and tc (clsact qdisc + cls_bpf filter) attachment on kernels without
BPF links go through rtnetlink. A message is a fixed header described by a
:class:`Layout` (a ``struct`` format with field names) followed by netlink
attributes (TLVs) described by a :class:`Policy` (attribute name -> number and
kind, nested policies for nested attributes); both directions use the same
declarations. Errors come back as :class:`~pybpf.errors.KernelError` subclasses
carrying the kernel's extended-ack message.
"""

from __future__ import annotations

import errno as _errno
import itertools
import socket
import struct
from collections.abc import Iterator, Mapping
from typing import Any, Union

from pybpf._dataclass import dataclass
from pybpf.errors import KernelError

__all__ = [
    "IFINFOMSG",
    "IFLA",
    "NLM_F",
    "RTM",
    "TCA",
    "TCA_BPF",
    "TCMSG",
    "Layout",
    "Message",
    "NetlinkSocket",
    "Policy",
]

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF
NLMSGERR_ATTR_MSG = 1
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200

_NLMSGHDR = struct.Struct("=IHHII")


class NLM_F:
    """nlmsghdr flags."""

    REQUEST = 0x1
    MULTI = 0x2
    ACK = 0x4
    ROOT = 0x100
    MATCH = 0x200
    DUMP = 0x300
    REPLACE = 0x100
    EXCL = 0x200
    CREATE = 0x400


class RTM:
    """rtnetlink message types used here."""

    NEWLINK = 16
    GETLINK = 18
    SETLINK = 19
    NEWROUTE = 24
    DELROUTE = 25
    NEWQDISC = 36
    DELQDISC = 37
    GETQDISC = 38
    NEWTFILTER = 44
    DELTFILTER = 45
    GETTFILTER = 46


@dataclass(frozen=True)
class Layout:
    """A fixed-size message header: a ``struct`` format and its field names."""

    name: str
    fmt: str
    fields: tuple[str, ...]

    @property
    def size(self) -> int:
        """Size in bytes."""
        return struct.calcsize(self.fmt)

    def pack(self, values: Mapping[str, int]) -> bytes:
        """Encode; fields not given are zero."""
        unknown = set(values) - set(self.fields)
        if unknown:
            raise ValueError(f"{self.name}: no field(s) {', '.join(sorted(unknown))}")
        return struct.pack(self.fmt, *(int(values.get(f, 0)) for f in self.fields))

    def unpack(self, data: bytes) -> dict[str, int]:
        """Decode the first :attr:`size` bytes of ``data``."""
        if len(data) < self.size:
            raise ValueError(f"{self.name}: {len(data)} bytes, need {self.size}")
        return dict(zip(self.fields, struct.unpack_from(self.fmt, data), strict=True))


IFINFOMSG = Layout("ifinfomsg", "=BxHiII", ("family", "type", "index", "flags", "change"))
TCMSG = Layout("tcmsg", "=BxxxiIII", ("family", "ifindex", "handle", "parent", "info"))
RTMSG = Layout(
    "rtmsg",
    "=BBBBBBBBI",
    ("family", "dst_len", "src_len", "tos", "table", "protocol", "scope", "type", "flags"),
)

_SCALARS: dict[str, struct.Struct] = {
    "u8": struct.Struct("=B"),
    "u16": struct.Struct("=H"),
    "u32": struct.Struct("=I"),
    "s32": struct.Struct("=i"),
    "u64": struct.Struct("=Q"),
    "be16": struct.Struct(">H"),
    "be32": struct.Struct(">I"),
}

AttrKind = Union[str, "Policy"]


class Policy:
    """Attributes of one nesting level: ``name -> (number, kind)``.

    ``kind`` is a scalar (``u8``, ``u16``, ``u32``, ``s32``, ``u64``, ``be16``,
    ``be32``), ``str`` (NUL-terminated), ``bytes``, ``flag`` (empty) or a nested
    :class:`Policy`.
    """

    def __init__(self, name: str, attrs: Mapping[str, tuple[int, AttrKind]]) -> None:
        self.name = name
        self.attrs = dict(attrs)
        self._by_number = {num: (attr, kind) for attr, (num, kind) in self.attrs.items()}

    def __getitem__(self, attr: str) -> int:
        return self.attrs[attr][0]

    def encode(self, values: Mapping[str, Any]) -> bytes:
        """TLVs for ``values`` (None values are left out)."""
        out = bytearray()
        for attr, value in values.items():
            if value is None:
                continue
            try:
                num, kind = self.attrs[attr]
            except KeyError as exc:
                raise ValueError(f"{self.name}: no attribute {attr!r}") from exc
            if isinstance(kind, Policy):
                payload = kind.encode(value)
                num |= NLA_F_NESTED
            elif kind == "str":
                payload = str(value).encode() + b"\0"
            elif kind == "bytes":
                payload = bytes(value)
            elif kind == "flag":
                payload = b""
            else:
                payload = _SCALARS[kind].pack(int(value))
            out += struct.pack("=HH", 4 + len(payload), num) + payload
            out += bytes(-len(out) % 4)
        return bytes(out)

    def decode(self, data: bytes) -> dict[str, Any]:
        """Decode TLVs; unknown attributes are kept under ``"#<number>"`` as bytes."""
        out: dict[str, Any] = {}
        for num, payload in iter_attrs(data):
            attr, kind = self._by_number.get(num, (f"#{num}", "bytes"))
            if isinstance(kind, Policy):
                out[attr] = kind.decode(payload)
            elif kind == "str":
                out[attr] = payload.split(b"\0", 1)[0].decode(errors="replace")
            elif kind == "bytes":
                out[attr] = payload
            elif kind == "flag":
                out[attr] = True
            else:
                sc = _SCALARS[kind]
                out[attr] = sc.unpack_from(payload)[0] if len(payload) >= sc.size else None
        return out


def iter_attrs(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(number, payload) of each TLV in ``data``; a truncated tail ends the walk."""
    off = 0
    while off + 4 <= len(data):
        length, num = struct.unpack_from("=HH", data, off)
        if length < 4 or off + length > len(data):
            return
        yield num & NLA_TYPE_MASK, data[off + 4 : off + length]
        off += (length + 3) & ~3


IFLA_XDP = Policy(
    "IFLA_XDP",
    {
        "fd": (1, "s32"),
        "attached": (2, "u8"),
        "flags": (3, "u32"),
        "prog_id": (4, "u32"),
        "drv_prog_id": (5, "u32"),
        "skb_prog_id": (6, "u32"),
        "hw_prog_id": (7, "u32"),
        "expected_fd": (8, "s32"),
    },
)
IFLA = Policy("IFLA", {"ifname": (3, "str"), "mtu": (4, "u32"), "xdp": (43, IFLA_XDP)})

TCA_BPF = Policy(
    "TCA_BPF",
    {
        "classid": (3, "u32"),
        "fd": (6, "u32"),
        "name": (7, "str"),
        "flags": (8, "u32"),
        "flags_gen": (9, "u32"),
        "tag": (10, "bytes"),
        "id": (11, "u32"),
    },
)
TCA = Policy("TCA", {"kind": (1, "str"), "options": (2, TCA_BPF), "chain": (11, "u32")})
TCA_QDISC = Policy("TCA", {"kind": (1, "str"), "options": (2, "bytes")})


@dataclass
class Message:
    """One netlink message: type, flags, header values and attributes."""

    type: int
    layout: Layout
    header: dict[str, int]
    policy: Policy
    attrs: dict[str, Any]
    flags: int = 0

    def encode(self, seq: int) -> bytes:
        """The wire form with sequence number ``seq``."""
        body = self.layout.pack(self.header) + self.policy.encode(self.attrs)
        return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), self.type, self.flags, seq, 0) + body

    @classmethod
    def decode(cls, mtype: int, flags: int, body: bytes, layout: Layout, policy: Policy) -> Message:
        """Parse a reply body with the given header layout and attribute policy."""
        header = layout.unpack(body)
        attrs = policy.decode(body[(layout.size + 3) & ~3 :])
        return cls(mtype, layout, header, policy, attrs, flags)


class NetlinkSocket:
    """An rtnetlink socket in the network namespace of the thread that opened it."""

    def __init__(self) -> None:
        self._sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE
        )
        try:
            for opt in (NETLINK_EXT_ACK, NETLINK_CAP_ACK):
                try:  # noqa: SIM105 - old kernels lack these; errors stay readable without
                    self._sock.setsockopt(SOL_NETLINK, opt, 1)
                except OSError:
                    pass
            self._sock.bind((0, 0))
        except BaseException:
            self._sock.close()
            raise
        self._seq = itertools.count(1)

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self._sock.close()

    def __enter__(self) -> NetlinkSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        msg: Message,
        *,
        op: str,
        error: type[KernelError] = KernelError,
        reply: tuple[Layout, Policy] | None = None,
    ) -> list[Message]:
        """Send ``msg`` (with REQUEST|ACK), collect the replies (dumps too), raise on error.

        ``reply`` says how to parse data replies; without it they are dropped.
        """
        seq = next(self._seq)
        msg.flags |= NLM_F.REQUEST | NLM_F.ACK
        self._sock.send(msg.encode(seq))
        out: list[Message] = []
        while True:
            data = self._sock.recv(1 << 16)
            off = 0
            while off + _NLMSGHDR.size <= len(data):
                length, mtype, flags, rseq, _pid = _NLMSGHDR.unpack_from(data, off)
                if length < _NLMSGHDR.size or off + length > len(data):
                    raise error(op, _errno.EPROTO, "truncated netlink reply")
                body = data[off + _NLMSGHDR.size : off + length]
                off += (length + 3) & ~3
                if rseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    code = struct.unpack_from("=i", body)[0]
                    if code == 0:
                        if (msg.flags & NLM_F.DUMP) != NLM_F.DUMP:
                            return out
                        continue
                    raise error(op, -code, _extack(body, flags))
                if mtype == NLMSG_DONE:
                    return out
                if reply is not None:
                    try:
                        out.append(Message.decode(mtype, flags, body, *reply))
                    except ValueError as exc:
                        raise error(op, _errno.EPROTO, f"bad netlink reply: {exc}") from exc


def _extack(body: bytes, flags: int) -> str | None:
    """The kernel's extended-ack error text, if it sent one."""
    if not flags & NLM_F_ACK_TLVS or len(body) < 4 + _NLMSGHDR.size:
        return None
    # with NETLINK_CAP_ACK the echoed request is only its header
    orig_len = _NLMSGHDR.unpack_from(body, 4)[0]
    start = 4 + (_NLMSGHDR.size if flags & NLM_F_CAPPED else orig_len)
    for num, payload in iter_attrs(body[(start + 3) & ~3 :]):
        if num == NLMSGERR_ATTR_MSG:
            return payload.split(b"\0", 1)[0].decode(errors="replace") or None
    return None


def ifindex_of(dev: int | str) -> int:
    """An interface index from an index or a name (in the calling thread's netns)."""
    if isinstance(dev, int):
        if dev <= 0:
            raise ValueError(f"invalid interface index {dev}")
        return dev
    try:
        return socket.if_nametoindex(dev)
    except OSError as exc:
        raise KernelError(
            f"find network interface {dev!r}",
            _errno.ENODEV,
            hint="check the name with `ip link` (in the right network namespace)",
        ) from exc


def ifname_of(ifindex: int) -> str:
    """The interface name for an index, or ``if<index>`` when unknown."""
    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        return f"if{ifindex}"

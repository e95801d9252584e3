"""Programs written in Python with pybpf.asm.build, loaded and run in the real kernel
(no clang): an XDP counter by IP protocol, a socket filter, a tracepoint counter, and a
verifier rejection that names the Python line."""

from __future__ import annotations

import os
import re
import socket
import struct
from collections.abc import Iterator

import pytest

import pybpf
from pybpf.asm import assemble
from pybpf.asm.build import (
    FP,
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    add,
    atomic_add,
    call,
    ctx,
    exit_,
    jeq,
    jgt,
    jne,
    label,
    ld_abs,
    ld_map,
    load,
    mov,
    rsh,
    store,
)
from pybpf.errors import VerifierError
from pybpf.loader.asm import create_map
from pybpf.uapi.enums import MapType

pytestmark = pytest.mark.usefixtures("kernel")

ETH_P_IP_LE = 0x0008  # 0x0800 in network order, loaded as a little-endian u16


def _u64(raw: bytes) -> int:
    return int(struct.unpack("<Q", raw)[0])


@pytest.fixture()
def counts() -> Iterator[pybpf.Map]:
    m = create_map(f"cnt{os.getpid() % 100000}", MapType.ARRAY, 4, 8, 256)
    yield m
    m.close()


def _xdp_counter(counts: pybpf.Map) -> list[object]:
    """Count IPv4 packets by protocol in ``counts[proto]``; pass everything."""
    return [
        load(R2, R1, ctx.xdp_md.data),
        load(R3, R1, ctx.xdp_md.data_end),
        mov(R4, R2),
        add(R4, 14 + 20),
        jgt(R4, R3, "pass"),  # bounds check: ethernet + IPv4 header
        load(R4, R2, 12, size=2),
        jne(R4, ETH_P_IP_LE, "pass"),
        load(R4, R2, 14 + 9, size=1),  # iphdr.protocol
        store(FP, -4, R4, size=4),
        ld_map(R1, counts),
        mov(R2, FP),
        add(R2, -4),
        call("map_lookup_elem"),
        jeq(R0, 0, "pass"),
        mov(R1, 1),
        atomic_add(R0, 0, R1),
        label("pass"),
        mov(R0, 2),  # XDP_PASS
        exit_(),
    ]


def _packet(proto: int, ethertype: int = 0x0800) -> bytes:
    eth = b"\xff" * 6 + b"\x02" * 6 + struct.pack("!H", ethertype)
    ip = bytes([0x45, 0, 0, 40, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    return eth + ip + bytes(20)


def test_xdp_counter_by_protocol(counts: pybpf.Map) -> None:
    prog = pybpf.load_program(_xdp_counter(counts), prog_type="xdp", maps=[counts])
    with prog:
        assert prog.info().btf_id  # line info naming this file went with it
        sent = {6: 3, 17: 2, 1: 1}
        for proto, n in sent.items():
            for _ in range(n):
                assert prog.test_run(_packet(proto)).retval == 2
        prog.test_run(_packet(6, ethertype=0x86DD))  # IPv6: not counted
        prog.test_run(_packet(6)[:30])  # truncated: not counted
        got = {p: _u64(counts[p]) for p in range(256) if _u64(counts[p])}
        assert got == sent


def test_map_by_name_and_text_program(counts: pybpf.Map) -> None:
    """The same counter from assembly text, its map named in a relocation line."""
    from pybpf.asm import disassemble
    from pybpf.asm.build import resolve

    built = resolve(_xdp_counter(counts))
    insns = [i.replace(src=0) if i.is_ld_imm64 else i for i in built.insns]
    lines = [re.sub(r"\t[0-9a-f ]+\t", "\t", ln) for ln in disassemble(insns).splitlines()]
    at = next(i for i, ln in enumerate(lines) if ln.endswith("r1 = 0x0 ll"))
    slot = int(lines[at].split(":")[0])
    lines.insert(at + 1, f"\t\t{slot * 8:016x}:  R_BPF_64_64\tcounter")
    prog = pybpf.load_program(assemble("\n".join(lines)), prog_type="xdp", maps={"counter": counts})
    with prog:
        prog.test_run(_packet(17))
    assert _u64(counts[17]) == 1


def test_socket_filter(counts: pybpf.Map) -> None:
    """Drop datagrams whose payload starts with 'D'; count bytes of the accepted ones."""
    prog = pybpf.load_program(
        [
            mov(R6, R1),
            ld_abs(1, 8),  # first payload byte: UDP data starts after the 8-byte header
            jeq(R0, ord("D"), "drop"),
            load(R2, R6, ctx("__sk_buff", "len")),
            store(FP, -8, 0, size=4),
            store(FP, -16, R2, size=8),
            ld_map(R1, "bytes"),
            mov(R2, FP),
            add(R2, -8),
            call("bpf_map_lookup_elem"),
            jeq(R0, 0, "keep"),
            load(R2, FP, -16),
            atomic_add(R0, 0, R2),
            label("keep"),
            mov(R0, 0xFFFF),
            exit_(),
            label("drop"),
            mov(R0, 0),
            exit_(),
        ],
        prog_type="socket_filter",
        maps={"bytes": counts},
        license="GPL",
    )
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with prog, rx, tx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2)
        link = prog.attach_socket(rx)
        try:
            for payload in (b"keep-1", b"Drop me", b"keep-22"):
                tx.sendto(payload, rx.getsockname())
            assert rx.recv(100) == b"keep-1"
            assert rx.recv(100) == b"keep-22"
            rx.settimeout(0.2)
            with pytest.raises(TimeoutError):
                rx.recv(100)
        finally:
            link.detach()
    assert _u64(counts[0]) == 2 * 8 + len(b"keep-1") + len(b"keep-22")  # skb len: UDP header+data


def test_tracepoint_counter(counts: pybpf.Map) -> None:
    """Count this process's getppid() calls at syscalls:sys_enter_getppid."""
    prog = pybpf.load_program(
        [
            call("get_current_pid_tgid"),
            rsh(R0, 32),
            jne(R0, os.getpid(), "out"),
            store(FP, -4, 0, size=4),
            ld_map(R1, counts),
            mov(R2, FP),
            add(R2, -4),
            call("map_lookup_elem"),
            jeq(R0, 0, "out"),
            mov(R1, 1),
            atomic_add(R0, 0, R1),
            label("out"),
            mov(R0, 0),
            exit_(),
        ],
        prog_type="tracepoint",
    )
    with prog:
        link = prog.attach_tracepoint("syscalls", "sys_enter_getppid")
        try:
            for _ in range(7):
                os.getppid()
        finally:
            link.detach()
        os.getppid()  # after detach: not counted
    assert _u64(counts[0]) == 7


def test_verifier_rejection_names_python_line() -> None:
    table = create_map(f"h{os.getpid() % 100000}", MapType.HASH, 4, 8, 16)
    prog = [
        store(FP, -4, 0, size=4),
        ld_map(R1, table),
        mov(R2, FP),
        add(R2, -4),
        call("map_lookup_elem"),
        load(R0, R0, 0),  # no NULL check: the verifier refuses this line
        exit_(),
    ]
    line = _line_of("load(R0, R0, 0),  # no NULL check")
    with table, pytest.raises(VerifierError) as exc:
        pybpf.load_program(prog, prog_type="xdp")
    text = str(exc.value)
    assert f"{__file__}:{line}:" in text, text
    assert "map_value_or_null" in text
    assert "load(R0, R0, 0)" in text
    assert exc.value.insn_index == 6  # type: ignore[attr-defined]
    # the kernel itself knows the line (it prints the file's base name): pybpf sent BTF line info
    here = os.path.basename(__file__)
    assert (
        f"; load(R0, R0, 0),  # no NULL check: the verifier refuses this line @ {here}:{line}"
        in (exc.value.log)
    )


def _line_of(snippet: str) -> int:
    with open(__file__) as f:
        for n, text in enumerate(f, 1):
            if snippet in text and "_line_of" not in text:
                return n
    raise AssertionError(snippet)


def test_verifier_rejection_names_assembly_line() -> None:
    text = """
        r0 = 0x0
        *(u32 *)(r10 - 0x4) = w0
        r1 = r10
        r1 += -0x4
        r0 = *(u64 *)(r1 + 0x8)   ; reads past the initialised stack
        exit
    """
    with pytest.raises(VerifierError) as exc:
        pybpf.load_program(assemble(text, source="probe.s"), prog_type="xdp")
    assert "probe.s:6: r0 = *(u64 *)(r1 + 0x8)" in str(exc.value), str(exc.value)

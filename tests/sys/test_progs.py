"""Program loading against the real kernel: test runs, verifier errors, whole logs."""

from __future__ import annotations

import errno
import os
import struct

import pytest

from pybpf.errors import AttachError, KernelError, ProgramLoadError, VerifierError
from pybpf.sys import _insn, features, info, maps, progs
from pybpf.uapi.enums import AttachType, MapType, ProgFlags, ProgType, XdpAction

pytestmark = pytest.mark.usefixtures("kernel")

RET0 = _insn.program(_insn.mov64_imm(0, 0), _insn.exit_())


def ret(value: int) -> bytes:
    return _insn.program(_insn.mov64_imm(0, value), _insn.exit_())


def test_load_and_test_run_xdp_and_socket_filter() -> None:
    packet = bytes(range(64))
    with progs.prog_load(ProgType.XDP, ret(XdpAction.PASS), name="xdp_pass") as fd:
        res = progs.prog_test_run(fd, data_in=packet, repeat=5)
        assert res.retval == XdpAction.PASS
        assert res.data_out == packet
        assert info.prog_info(fd).name == "xdp_pass"
    with progs.prog_load(ProgType.SOCKET_FILTER, ret(0)) as fd:
        res = progs.prog_test_run(fd, data_in=bytes(64))
        assert res.retval == 0
        assert res.data_out == bytes(64)


def test_program_writing_a_map_runs_in_kernel() -> None:
    # r1 = map; r2 = fp-4 (key 0); r3 = fp-16 (value); r4 = 0; call map_update_elem; r0 = 0
    with maps.map_create(MapType.ARRAY, 4, 8, 1) as m:
        code = _insn.program(
            _insn.insn(0x62, 10, off=-4, imm=0),  # *(u32 *)(r10 - 4) = 0
            _insn.insn(0x7A, 10, off=-16, imm=1234),  # *(u64 *)(r10 - 16) = 1234
            _insn.ld_map_fd(1, m.fileno()),
            _insn.insn(0xBF, 2, 10),  # r2 = r10
            _insn.insn(0x07, 2, imm=-4),  # r2 += -4
            _insn.insn(0xBF, 3, 10),
            _insn.insn(0x07, 3, imm=-16),
            _insn.mov64_imm(4, 0),
            _insn.call(2),  # map_update_elem
            _insn.mov64_imm(0, 0),
            _insn.exit_(),
        )
        with progs.prog_load(ProgType.SOCKET_FILTER, code, name="writer") as fd:
            assert maps.map_lookup_elem(m, struct.pack("<I", 0), 8) == bytes(8)
            progs.prog_test_run(fd, data_in=bytes(64))
            assert maps.map_lookup_elem(m, struct.pack("<I", 0), 8) == struct.pack("<Q", 1234)
            assert info.prog_info(fd).map_ids == [info.map_info(m).id]


def test_syscall_program_test_run_returns_its_ctx() -> None:
    code = _insn.program(
        _insn.insn(0x79, 2, 1, off=0),  # r2 = *(u64 *)(r1 + 0)
        _insn.insn(0x07, 2, imm=1),  # r2 += 1
        _insn.insn(0x7B, 1, 2, off=8),  # *(u64 *)(r1 + 8) = r2
        _insn.mov64_imm(0, 7),
        _insn.exit_(),
    )
    with progs.prog_load(ProgType.SYSCALL, code, flags=ProgFlags.SLEEPABLE) as fd:
        ctx = struct.pack("<QQ", 41, 0)
        res = progs.prog_test_run(fd, ctx_in=ctx, prog_type=ProgType.SYSCALL)
        assert res.retval == 7
        assert struct.unpack("<QQ", res.ctx_out) == (41, 42)
        with pytest.raises(KernelError) as exc:  # a ctx_out buffer: the kernel refuses it
            progs.prog_test_run(fd, ctx_in=ctx)
        assert exc.value.errno == errno.EINVAL
        with pytest.raises(ValueError, match="ctx_in"):
            progs.prog_test_run(fd, ctx_in=ctx, ctx_out_size=16, prog_type=ProgType.SYSCALL)


def test_verifier_rejection_carries_the_log() -> None:
    with pytest.raises(VerifierError) as exc:
        progs.prog_load(ProgType.SOCKET_FILTER, _insn.exit_(), name="no_r0")
    err = exc.value
    assert err.errno == errno.EACCES
    assert err.program == "no_r0"
    assert "R0 !read_ok" in err.log
    assert "R0 !read_ok" in str(err)
    assert "processed" not in (err.summary or "")


def test_long_log_arrives_whole_from_tiny_first_buffer() -> None:
    n = 3000
    body = b"".join(_insn.mov64_imm(0, i) for i in range(n))
    bad = _insn.insn(0xBF, 0, 5)  # r0 = r5: r5 was never written
    with pytest.raises(VerifierError) as exc:
        progs.prog_load(ProgType.SOCKET_FILTER, body + bad + _insn.exit_(), log_size=128)
    log = exc.value.log
    assert len(log) > 64 * 1024
    assert log.startswith("0: R1=ctx() R10=fp0")  # the head
    assert "R5 !read_ok" in log  # the tail
    numbered = [ln for ln in log.splitlines() if ln.split(":")[0].isdigit() and "(b7)" in ln]
    assert len(numbered) == n
    assert not exc.value.truncated


def test_log_on_success_with_log_level() -> None:
    fd, log = progs.prog_load_log(ProgType.SOCKET_FILTER, RET0, log_level=1 | 4, log_size=128)
    with fd:
        assert "processed 2 insns" in log
    fd2, none = progs.prog_load_log(ProgType.SOCKET_FILTER, RET0)
    fd2.close()
    assert none == ""


def test_non_verifier_failure_is_program_load_error() -> None:
    with pytest.raises(ProgramLoadError) as exc:
        progs.prog_load(9999, RET0, name="bogus")
    assert exc.value.errno == errno.EINVAL
    assert not isinstance(exc.value, VerifierError)
    with pytest.raises(ValueError):
        progs.prog_load(ProgType.SOCKET_FILTER, b"\x95\0\0")


def test_trampolines_missing_gives_clear_error() -> None:
    from pybpf.btf import BTF, Kind

    target = BTF.load_vmlinux().find("bpf_fentry_test1", Kind.FUNC)
    assert target
    if features.has_trampolines():
        pytest.skip("this kernel has BPF trampolines")
    with pytest.raises(ProgramLoadError) as exc:
        progs.prog_load(
            ProgType.TRACING,
            RET0,
            name="fentry",
            expected_attach_type=AttachType.TRACE_FENTRY,
            attach_btf_id=target[0],
        )
    assert exc.value.errno in (errno.EPERM, errno.ENOTSUP, 524)
    assert "trampolines" in str(exc.value)


def test_cgroup_attach_query_detach(tmp_path: object) -> None:
    root = "/sys/fs/cgroup/unified"
    if not os.path.isdir(root):
        root = "/sys/fs/cgroup"
    path = os.path.join(root, f"pybpf_sys_test_{os.getpid()}")
    os.mkdir(path)
    try:
        cg = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with progs.prog_load(
                ProgType.CGROUP_SKB, ret(1), expected_attach_type=AttachType.CGROUP_INET_INGRESS
            ) as p:
                progs.prog_attach(cg, p, AttachType.CGROUP_INET_INGRESS)
                q = progs.prog_query(cg, AttachType.CGROUP_INET_INGRESS)
                assert q.prog_ids == [info.prog_info(p).id]
                progs.prog_detach(cg, AttachType.CGROUP_INET_INGRESS, p)
                assert progs.prog_query(cg, AttachType.CGROUP_INET_INGRESS).prog_ids == []
                with pytest.raises(AttachError) as exc:
                    progs.prog_detach(cg, AttachType.CGROUP_INET_INGRESS, p)
                assert exc.value.errno == errno.ENOENT
        finally:
            os.close(cg)
    finally:
        os.rmdir(path)

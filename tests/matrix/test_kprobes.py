"""Kernel matrix: kprobes, kretprobes, ksyscall, kprobe.multi, BPF cookies and the
seeds' own kprobe programs, checked against /proc (see tests/matrix/conftest.py).

Run on one kernel: ``scripts/vmtest.sh 6.1`` (default: ``pytest -m matrix``).
"""

from __future__ import annotations

import errno
import os
import struct

import pytest
from tests.matrix.conftest import has, kconfig, kprobes

import pybpf
from pybpf.errors import AttachError, NotSupportedError

pytestmark = [pytest.mark.matrix, pytest.mark.kernel]

C_OPEN, C_OPEN_RET, C_OFFSET, C_KSYS, C_KRETSYS = range(5)


def _proc_stat() -> list[str]:
    with open("/proc/self/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


@pytest.mark.parametrize("use_pmu", [True, False], ids=["perf_pmu", "tracefs"])
def test_seed003_kprobe_reads_args_and_task(
    bpf_obj, tmp_path_factory, target: int, use_pmu: bool
) -> None:  # type: ignore[no-untyped-def]
    """Seed 003's mechanism: PT_REGS_PARMn arguments, task_struct through BPF_CORE_READ
    and bpf_probe_read_kernel; a kretprobe sees the returned fd."""
    from pybpf.link.kprobe import attach_kprobe

    with pybpf.load(bpf_obj("matrix_kprobe")) as obj:
        entry, ret = obj.programs["mx_open"], obj.programs["mx_open_ret"]
        if not kprobes():
            with pytest.raises(NotSupportedError, match="CONFIG_KPROBES"):
                attach_kprobe(entry.fd, "do_sys_openat2", use_pmu=use_pmu or None)
            return
        dirfd, name, flags, fd = 0, "", 0, -1
        with (
            attach_kprobe(entry.fd, "do_sys_openat2", prog_name=entry.name, use_pmu=use_pmu),
            attach_kprobe(
                ret.fd, "do_sys_openat2", prog_name=ret.name, retprobe=True, use_pmu=use_pmu
            ) as rlink,
        ):
            assert rlink.kind == "kretprobe"
            obj.maps["mx_config"][0] = target
            d = tmp_path_factory.mktemp("mx")
            dirfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            obj.maps["mx_config"][1] = dirfd
            name = f"mx_{os.getpid()}.txt"
            flags = os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC
            fd = os.open(name, flags, 0o640, dir_fd=dirfd)
        try:
            assert obj.maps["counts"][C_OPEN] == 1
            rec = obj.maps["opened"][0]
            assert rec.dfd == dirfd
            assert rec.filename.decode() == name
            # the kernel adds O_LARGEFILE on 64-bit
            assert rec.flags & ~0o100000 == flags  # O_LARGEFILE (0 in Python here)
            assert rec.mode & 0o7777 == 0o640
            stat = _proc_stat()
            assert (rec.tgid, rec.pid, rec.ppid) == (os.getpid(), os.getpid(), int(stat[1]))
            with open("/proc/self/status") as f:
                uid = next(int(ln.split()[1]) for ln in f if ln.startswith("Uid:"))
            assert rec.uid == uid
            with open("/proc/self/comm") as f:
                assert rec.comm.decode() == f.read().strip()
            hz = os.sysconf("SC_CLK_TCK")
            assert abs(rec.start_boottime * hz // 1_000_000_000 - int(stat[19])) <= 1
            # the kretprobe counts every open of this process; the marked one was the last
            assert obj.maps["counts"][C_OPEN_RET] >= 1
            assert obj.maps["last"][C_OPEN_RET] == fd
        finally:
            os.close(fd)
            os.close(dirfd)


def test_kprobe_at_an_offset(bpf_obj, target: int) -> None:  # type: ignore[no-untyped-def]
    """A kprobe inside a function (past the ftrace call, and an ENDBR where IBT is on)."""
    with pybpf.load(bpf_obj("matrix_kprobe")) as obj:
        prog = obj.programs["mx_offset"]
        if not kprobes():
            with pytest.raises(NotSupportedError, match="CONFIG_KPROBES"):
                prog.attach_kprobe("__x64_sys_getpgid", offset=5)
            return
        obj.maps["mx_config"][0] = target
        tried = []
        for off in (5, 9):  # 5: after `call __fentry__`; 9: after `endbr64; call __fentry__`
            try:
                link = prog.attach_kprobe("__x64_sys_getpgid", offset=off)
            except AttachError as exc:
                tried.append((off, exc.errno))
                continue
            with link:
                assert link.target == f"__x64_sys_getpgid+{off:#x}"
                for _ in range(3):
                    os.getpgid(0)
            assert obj.maps["counts"][C_OFFSET] == 3
            return
        pytest.fail(f"no instruction boundary found at the offsets tried: {tried}")


def test_ksyscall_and_kretsyscall(bpf_obj, target: int) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("matrix_kprobe")) as obj:
        if not kprobes():
            with pytest.raises(NotSupportedError, match="ksyscall on getpgid"):
                obj.programs["mx_ksys"].attach()
            return
        obj.maps["mx_config"][0] = target
        with obj.programs["mx_ksys"].attach() as k, obj.programs["mx_kretsys"].attach() as kr:
            assert (k.kind, kr.kind) == ("ksyscall", "kretsyscall")
            pgid = os.getpgid(target)
        assert obj.maps["counts"][C_KSYS] == 1 and obj.maps["last"][C_KSYS] == target
        assert obj.maps["counts"][C_KRETSYS] == 1 and obj.maps["last"][C_KRETSYS] == pgid


def test_bpf_cookie(bpf_obj, target: int) -> None:  # type: ignore[no-untyped-def]
    """bpf_get_attach_cookie on a kprobe (5.15): the cookie given at attach time."""
    if not has("5.15"):
        with pytest.raises(NotSupportedError) as exc:
            pybpf.load(bpf_obj("matrix_cookie"))
        assert exc.value.min_kernel == "5.15" and "bpf_get_attach_cookie" in str(exc.value)
        # and a cookie on a program that does not read it: no perf links before 5.15
        with pybpf.load(bpf_obj("matrix_kprobe")) as obj:
            with pytest.raises(NotSupportedError) as exc:
                obj.programs["mx_offset"].attach_kprobe("__x64_sys_getpgid", cookie=7)
            assert exc.value.min_kernel == "5.15"
        return
    with pybpf.load(bpf_obj("matrix_cookie")) as obj:
        prog = obj.programs["mx_cookie"]
        if not kprobes():
            with pytest.raises(NotSupportedError, match="CONFIG_KPROBES"):
                prog.attach_kprobe("__x64_sys_getpgid", cookie=0xC00C1E)
            return
        obj.globals["mx_pid"] = target
        with prog.attach_kprobe("__x64_sys_getpgid", cookie=0xC00C1E):
            os.getpgid(0)
        assert obj.globals["hits"] == 1
        assert obj.globals["seen_cookie"] == 0xC00C1E


def test_kprobe_multi(bpf_obj, target: int) -> None:  # type: ignore[no-untyped-def]
    """kprobe.multi (5.18, CONFIG_FPROBE): one program on two functions, told apart by
    cookie. Debian's 6.1 has no fprobe, 6.12 has it."""
    from pybpf.link.kprobe import attach_kprobe_multi

    funcs = ["__x64_sys_getpgid", "__x64_sys_getppid"]
    if not kprobes():
        with (
            pybpf.load(bpf_obj("matrix_multi")) as obj,
            pytest.raises(NotSupportedError, match="CONFIG_KPROBES"),
        ):
            attach_kprobe_multi(obj.programs["mx_multi"].fd, syms=funcs, cookies=[1, 2])
        return
    if not (has("5.18") and kconfig("FPROBE")):
        with pytest.raises(NotSupportedError) as exc, pybpf.load(bpf_obj("matrix_multi")) as obj:
            attach_kprobe_multi(obj.programs["mx_multi"].fd, syms=funcs, cookies=[1, 2])
        assert "kprobe.multi" in str(exc.value)
        assert exc.value.min_kernel == "5.18"
        if has("5.18"):
            assert "CONFIG_FPROBE" in str(exc.value)
        return
    with pybpf.load(bpf_obj("matrix_multi")) as obj:
        prog = obj.programs["mx_multi"]
        obj.globals["mx_pid"] = target
        with attach_kprobe_multi(prog.fd, syms=funcs, cookies=[1, 2], prog_name=prog.name):
            for _ in range(2):
                os.getpgid(0)
            for _ in range(3):
                os.getppid()
        assert list(obj.globals["by_cookie"])[:3] == [0, 2, 3]


def test_kprobe_missing_function_is_a_clear_error(bpf_obj, kernel: None) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("matrix_kprobe")) as obj:
        prog = obj.programs["mx_offset"]
        if not kprobes():
            with pytest.raises(NotSupportedError):
                prog.attach_kprobe("pybpf_no_such_function")
            return
        with pytest.raises(AttachError) as exc:
            prog.attach_kprobe("pybpf_no_such_function")
        assert exc.value.errno in (errno.ENOENT, errno.EINVAL)
        assert "pybpf_no_such_function" in str(exc.value)


def test_samples_bpf_legacy_maps_kprobe_through_perf_event(bpf_obj, target: int) -> None:  # type: ignore[no-untyped-def]
    """samples/bpf tracex2 (seed 003): legacy "maps" section, no BTF, kprobe on
    ksys_write attached through perf_event_open + PERF_EVENT_IOC_SET_BPF."""
    from pybpf.link.kprobe import attach_kprobe

    with pybpf.load(bpf_obj("legacy_tracex")) as obj:
        prog = obj.programs["bpf_prog3"]
        if not kprobes():
            with pytest.raises(NotSupportedError, match="CONFIG_KPROBES"):
                attach_kprobe(prog.fd, "ksys_write", prog_name=prog.name)
            return
        link = attach_kprobe(prog.fd, "ksys_write", prog_name=prog.name, use_link=False)
        with link, open("/dev/null", "wb", buffering=0) as null:
            for _ in range(4):
                null.write(b"x" * 1000)
        ours: dict[int, int] = {}
        for key, values in obj.maps["my_hist_map"].items():
            # no BTF: raw struct hist_key {u32 index; u64 pid_tgid, uid_gid; char comm[16]}
            index, pid_tgid, uid_gid, comm = struct.unpack("<I4xQQ16s", bytes(key))
            if pid_tgid >> 32 == target:
                assert uid_gid & 0xFFFFFFFF == os.getuid()
                assert comm.split(b"\0")[0].decode() == _comm()
                ours[index] = ours.get(index, 0) + sum(_ints(values))
        # log2(1000) == 9; other writes of this process (pytest's output) may add more
        assert ours.get(9, 0) >= 4, ours


def _ints(values: object) -> list[int]:
    seq = values if isinstance(values, list | tuple) else [values]
    return [v if isinstance(v, int) else int.from_bytes(bytes(v), "little") for v in seq]


def _comm() -> str:
    with open("/proc/self/comm") as f:
        return f.read().strip()


def test_kprobe_events_left_clean(bpf_obj, kernel: None) -> None:  # type: ignore[no-untyped-def]
    """The tracefs fallback removes its kprobe_events entry when the link closes."""
    from pybpf.kernel import tracefs
    from pybpf.link.kprobe import attach_kprobe

    if not kprobes():
        assert tracefs.probe_event_names("kprobe") == []  # no kprobe_events at all
        return
    with pybpf.load(bpf_obj("matrix_kprobe")) as obj:
        prog = obj.programs["mx_offset"]
        mine = f"pybpf_{os.getpid()}_"
        with attach_kprobe(prog.fd, "__x64_sys_getpgid", use_pmu=False):
            assert any(mine in e for e in tracefs.probe_event_names("kprobe"))
        assert not any(mine in e for e in tracefs.probe_event_names("kprobe"))

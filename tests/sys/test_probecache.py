"""Feature-probe answers kept per boot: a cached answer is the kernel's own, and a file
that is foreign, unsafe, corrupt, tampered or made for another boot or capability set is
never used; an unprivileged process neither reads nor writes it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pybpf.sys import features, probecache, syscall
from pybpf.sys.memlock import _probe_memcg
from pybpf.uapi.enums import FuncId, MapType, ProgType

pytestmark = pytest.mark.usefixtures("kernel")
NOBODY = 65534

# (per-boot probe, the raw probe underneath it, its arguments)
PROBES: list[tuple[Callable[..., bool], tuple[Any, ...]]] = [
    (features.has_btf, ()),
    (features.has_btf_func, ()),
    (features.has_btf_func_global, ()),
    (features.has_btf_datasec, ()),
    (features.has_btf_float, ()),
    (features.has_btf_decl_tag, ()),
    (features.has_btf_type_tag, ()),
    (features.has_btf_enum64, ()),
    (features.has_prog_name, ()),
    (features.has_map_name, ()),
    (features.has_mmapable_array, ()),
    (features.has_batch_ops, ()),
    (features.has_log_true_size, ()),
    (features.has_link_create_perf_event, ()),
    (features.has_trampolines, ()),
    (features.has_prog_type, (ProgType.XDP,)),
    (features.has_prog_type, (ProgType.TRACING,)),
    (features.has_map_type, (MapType.RINGBUF,)),
    (features.has_map_type, (MapType.SK_STORAGE,)),
    (features.has_helper, (ProgType.TRACEPOINT, FuncId.get_current_pid_tgid)),
    (features.has_helper, (ProgType.SOCKET_FILTER, FuncId.override_return)),
]


def _per_boot(fn: Callable[..., bool]) -> Callable[..., bool]:
    return fn.__wrapped__  # type: ignore[attr-defined, no-any-return]  # under functools.cache


def _raw(fn: Callable[..., bool]) -> Callable[..., bool]:
    return _per_boot(fn).__wrapped__  # type: ignore[attr-defined, no-any-return]


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(d))
    monkeypatch.setattr(probecache, "_state", None)
    return d


@pytest.fixture()
def bpf_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The bpf(2) commands made from here on."""
    calls: list[int] = []
    real = syscall.bpf

    def counted(cmd: int, *args: Any, **kw: Any) -> int:
        calls.append(int(cmd))
        return real(cmd, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(syscall, "bpf", counted)
    return calls


def _file(cache_dir: Path) -> Path:
    (path,) = cache_dir.glob("features-*")
    return path


def _fill(cache_dir: Path) -> Path:
    assert _per_boot(features.has_btf_float)()
    return _file(cache_dir)


def _rewrite(path: Path, answers: bytes) -> None:
    """Replace the answers, keeping the file otherwise valid (as a user could)."""
    import zlib

    head = path.read_bytes().split(b"\n", 1)[0].rsplit(b" ", 1)[0]
    path.write_bytes(head + b" %08x\n" % zlib.crc32(answers) + answers)


def test_cached_answers_equal_fresh_probes(cache_dir: Path, bpf_calls: list[int]) -> None:
    fresh = [_raw(fn)(*args) for fn, args in PROBES] + [_probe_memcg()]
    first = [_per_boot(fn)(*args) for fn, args in PROBES] + [
        probecache.lookup("memcg_accounting", _probe_memcg)
    ]
    assert first == fresh
    probecache._state = None  # a new process
    bpf_calls.clear()
    again = [_per_boot(fn)(*args) for fn, args in PROBES] + [
        probecache.lookup("memcg_accounting", _probe_memcg)
    ]
    assert again == fresh and bpf_calls == []  # answered from the file, not the kernel
    assert _file(cache_dir).stat().st_mode & 0o777 == 0o600


def test_a_stored_answer_is_used(cache_dir: Path) -> None:
    path = _fill(cache_dir)
    _rewrite(path, b"has_btf_float=0\n")  # the user's own valid file is believed
    probecache._state = None
    assert not _per_boot(features.has_btf_float)()


def test_tampered_file_is_not_used(cache_dir: Path, bpf_calls: list[int]) -> None:
    path = _fill(cache_dir)
    path.write_bytes(path.read_bytes().replace(b"has_btf_float=1", b"has_btf_float=0"))
    probecache._state = None
    bpf_calls.clear()
    assert _per_boot(features.has_btf_float)() and bpf_calls  # the CRC failed: asked again


@pytest.mark.parametrize("how", ["owner", "group-writable", "symlink", "other boot", "other caps"])
def test_unsafe_or_foreign_file_is_not_used(cache_dir: Path, tmp_path: Path, how: str) -> None:
    path = _fill(cache_dir)
    _rewrite(path, b"has_btf_float=0\n")
    if how == "owner":
        os.chown(path, NOBODY, NOBODY)
    elif how == "group-writable":
        path.chmod(0o620)
    elif how == "symlink":
        target = tmp_path / "planted"
        path.rename(target)
        path.symlink_to(target)
    else:
        data = path.read_bytes()
        head = data.split(b"\n", 1)[0].split(b" ")
        head[2 if how == "other boot" else 4] = b"0"
        path.write_bytes(b" ".join(head) + data[data.index(b"\n") :])
    probecache._state = None
    assert _per_boot(features.has_btf_float)()  # the kernel's answer, not the file's


def test_unprivileged_process_neither_reads_nor_writes(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _fill(cache_dir)
    _rewrite(path, b"has_btf_float=0\n")
    monkeypatch.setattr(syscall, "privileged", lambda: False)
    probecache._state = None
    assert _per_boot(features.has_btf_float)()  # not read
    path.unlink()
    assert _per_boot(features.has_btf_datasec)()
    assert list(cache_dir.iterdir()) == []  # not written


def test_no_cache_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYBPF_CACHE_DIR", "")
    monkeypatch.setattr(probecache, "_state", None)
    assert _per_boot(features.has_btf_float)() == _raw(features.has_btf_float)()

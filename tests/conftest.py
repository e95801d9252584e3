"""Shared fixtures: the compiled test objects and the kernel-requirement policy.

Test objects are built from ``tests/bpf/*.bpf.c`` by ``make -C tests/bpf`` once per
session. Tests that need root and a BPF-capable kernel use the ``kernel`` fixture;
with ``PYBPF_REQUIRE_KERNEL=1`` a missing capability fails the test instead of
skipping it, so a green CI proves the kernel was exercised.
"""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
BPF_SRC = ROOT / "tests" / "bpf"
BPF_OUT = ROOT / "build" / "bpf"
REQUIRE_KERNEL = os.environ.get("PYBPF_REQUIRE_KERNEL") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip (or, under PYBPF_REQUIRE_KERNEL=1, fail) unless ``condition`` holds."""
    if condition:
        return
    if REQUIRE_KERNEL:
        pytest.fail(f"required capability missing: {reason}", pytrace=False)
    pytest.skip(reason)


def skip_unsupported(exc: BaseException) -> NoReturn:
    """Skip a test because the kernel lacks what ``exc`` (a ``NotSupportedError``) names,
    but FAIL when the kernel should have it: when it is at least ``exc.min_kernel``
    (pybpf claims a feature missing that this version has), or under
    PYBPF_REQUIRE_KERNEL=1. Anything but a NotSupportedError is re-raised.

    >>> try:                                                # doctest: +SKIP
    ...     obj.load()
    ... except NotSupportedError as exc:
    ...     skip_unsupported(exc)
    """
    from pybpf.errors import NotSupportedError
    from pybpf.sys import kversions

    if not isinstance(exc, NotSupportedError):
        raise exc
    if exc.min_kernel is not None and not kversions.before(exc.min_kernel):
        major, minor = kversions.running_version()
        pytest.fail(
            f"Linux {major}.{minor} is at least {exc.min_kernel}, yet: {exc}", pytrace=False
        )
    if REQUIRE_KERNEL:
        pytest.fail(f"required capability missing: {exc}", pytrace=False)
    pytest.skip(str(exc))


@contextlib.contextmanager
def unsupported_skips() -> Iterator[None]:
    """``with unsupported_skips(): ...``: a NotSupportedError inside goes to
    :func:`skip_unsupported` (skip, or fail when the kernel should have the feature)."""
    from pybpf.errors import NotSupportedError

    try:
        yield
    except NotSupportedError as exc:
        skip_unsupported(exc)


def need_tool(name: str, why: str = "") -> str:
    """Path of a reference/build tool (bpftool, clang-19, ...); scripts/setup.sh installs
    them, so under PYBPF_REQUIRE_KERNEL=1 a missing one fails instead of skipping."""
    import shutil

    path = shutil.which(name)
    need(path is not None, f"{name} is not installed{': ' + why if why else ''}")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def bpf_objects() -> Path:
    """Build the test objects (incrementally) and return their directory."""
    proc = subprocess.run(
        ["make", "-s", "-C", str(BPF_SRC), f"OUT={BPF_OUT}", "-j2"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.fail(f"building test BPF objects failed:\n{proc.stdout}\n{proc.stderr}")
    return BPF_OUT


@pytest.fixture(scope="session")
def bpf_obj(bpf_objects: Path):  # type: ignore[no-untyped-def]
    """Return a function mapping a test object's stem to its compiled path."""

    def get(name: str) -> Path:
        path = bpf_objects / f"{name}.bpf.o"
        assert path.exists(), f"no test object {path}"
        return path

    return get


def _kernel_ok() -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "needs root"
    if not Path("/sys/kernel/btf/vmlinux").exists():
        return False, "kernel has no BTF (/sys/kernel/btf/vmlinux)"
    return True, ""


@pytest.fixture()
def kernel() -> None:
    """Require root and a BPF-capable kernel (fail under PYBPF_REQUIRE_KERNEL=1)."""
    ok, reason = _kernel_ok()
    need(ok, reason)


@pytest.fixture()
def tmp_bpffs(tmp_path: Path, kernel: None) -> Iterator[Path]:
    """A fresh, private bpffs (mode 0700) mounted on a temporary directory: pins made
    there are seen by no other test or process; unmounted (with anything mounted below
    it) afterwards, which frees every pin."""
    import ctypes

    from pybpf.sys import fs

    root = tmp_path / "bpffs"
    root.mkdir()
    fs.mount("bpf", root, "mode=0700")
    try:
        yield root
    finally:
        libc = ctypes.CDLL(None, use_errno=True)
        below = [m for m in fs.mounts() if m == root or root in m.parents]
        for m in sorted(below, key=lambda p: -len(p.parts)):
            libc.umount2(os.fsencode(m), 0)


# ---- fd leaks: every test is checked -------------------------------------------------
#
# Each test's fds are compared before and after it (fixtures of wider scope are set up
# before this one, so their fds count as "before"). A leak is reported as a warning and
# listed at the end of the run; PYBPF_FD_LEAKS=fail makes it an error of the test.
# PYBPF_FD_TRACE=1 records where each pybpf FD was made and shows it for a leaked fd
# (as cilium's fd tracing does).

FD_LEAKS_FAIL = os.environ.get("PYBPF_FD_LEAKS") == "fail"
FD_TRACE = os.environ.get("PYBPF_FD_TRACE") == "1"
_fd_leaks: list[tuple[str, dict[str, str]]] = []
_fd_origins: dict[int, str] = {}


class FdLeakWarning(UserWarning):
    """A test left file descriptors open."""


def open_fds() -> set[str]:
    """The fd numbers open in this process."""
    # the listing has an fd of its own, closed again by the time the names are back
    return {fd for fd in os.listdir("/proc/self/fd") if os.path.lexists(f"/proc/self/fd/{fd}")}


def leaked_fds(before: set[str]) -> dict[str, str]:
    """The fds open now that were not in ``before`` (after a garbage collection, so an
    fd only garbage holds is not counted), each with what it points at."""
    if open_fds() <= before:
        return {}
    gc.collect()
    from leftovers import _fd_targets

    return _fd_targets(open_fds() - before)


def _trace_fd_origins() -> None:
    """Record the creating stack of every pybpf FD (PYBPF_FD_TRACE=1)."""
    import traceback

    from pybpf.sys.fd import FD

    init = FD.__init__

    def traced(self: FD, fd: int, kind: str = "fd") -> None:
        init(self, fd, kind)
        _fd_origins[self._fd] = "".join(traceback.format_stack(limit=14)[:-1])

    def forgetting(method: Any) -> Any:
        def call(self: FD) -> Any:
            _fd_origins.pop(self._fd, None)
            return method(self)

        return call

    FD.__init__ = traced  # type: ignore[method-assign]
    FD.close = forgetting(FD.close)  # type: ignore[method-assign]
    FD.disown = forgetting(FD.disown)  # type: ignore[method-assign]


if FD_TRACE:
    _trace_fd_origins()


@pytest.fixture(autouse=True)
def _no_fd_leak(request: pytest.FixtureRequest) -> Iterator[None]:
    before = open_fds()
    yield
    targets = leaked_fds(before)
    if not targets:
        return
    _fd_leaks.append((request.node.nodeid, targets))
    text = ", ".join(f"fd {fd} -> {what}" for fd, what in targets.items())
    origins = [_fd_origins[int(fd)] for fd in targets if int(fd) in _fd_origins]
    if origins:
        text += "\nmade at:\n" + "\n".join(origins)
    if FD_LEAKS_FAIL:
        pytest.fail(f"{request.node.nodeid} left fds open: {text}", pytrace=False)
    warnings.warn(FdLeakWarning(f"left fds open: {text}"), stacklevel=1)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the tests that left fds open."""
    if not _fd_leaks:
        return
    terminalreporter.section("fd leaks")
    for nodeid, targets in _fd_leaks:
        terminalreporter.write_line(f"{nodeid}: {targets}")


# The kernel-matrix selection (`pytest -m matrix`, what scripts/vmtest.sh runs in each VM):
# tests/matrix/ and tests marked `matrix` in place, plus these tests elsewhere whose
# outcome depends on the kernel.
MATRIX_TESTS = (
    "tests/link/test_uprobe.py::test_uprobe_and_uretprobe_count_calls",
    "tests/usdt/test_attach.py::test_every_argument_kind[tracefs-nopie]",
    "tests/net/test_cgroup.py::test_cgroup_skb_counts_ingress_and_egress",
    "tests/net/test_tc.py::test_tc_netlink_filter_counts_and_cleans_up",
    "tests/loader/test_btf_sanitize.py::test_kernel_accepts_sanitized_btf",
    "tests/tools/test_tracetools.py::test_hello_prints_for_execs",
    "tests/tools/test_bootstrap.py::test_bootstrap_all_events",
    "tests/tools/test_snoop.py::test_execsnoop_args_ppid_and_ret",
    "tests/tools/test_snoop.py::test_opensnoop_pid_failed_and_flags",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the listed tests of other directories as part of the kernel matrix."""
    for item in items:
        if item.nodeid in MATRIX_TESTS or item.nodeid.split("[")[0] in MATRIX_TESTS:
            item.add_marker(pytest.mark.matrix)

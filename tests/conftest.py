"""Shared fixtures: the compiled test objects and the kernel-requirement policy.

Test objects are built from ``tests/bpf/*.bpf.c`` by ``make -C tests/bpf`` once per
session. Tests that need root and a BPF-capable kernel use the ``kernel`` fixture;
with ``PYBPF_REQUIRE_KERNEL=1`` a missing capability fails the test instead of
skipping it, so a green CI proves the kernel was exercised.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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

"""ksym externs end to end: typeless addresses, kfunc calls, weak kfuncs, and the
clear error for data ksyms this kernel cannot resolve."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pybpf
from pybpf.errors import ExternError

pytestmark = pytest.mark.usefixtures("kernel")


def _kallsyms(name: str) -> int:
    with open("/proc/kallsyms") as f:
        for line in f:
            addr, _, sym = line.split()[:3]
            if sym == name:
                return int(addr, 16)
    raise AssertionError(name)


def test_typeless_ksym_and_kfunc_calls(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("ksyms"))
    obj.programs["read_percpu"].autoload = False
    obj.globals["lookup_pid"] = os.getpid()
    with obj.load():
        assert obj.programs["read_ksyms"].test_run().retval == 0
        assert obj.globals["schedule_addr"] == _kallsyms("schedule")
        assert obj.globals["found_tgid"] == os.getpid()  # bpf_task_from_pid kfunc
        assert obj.globals["missing_kfunc_exists"] == 0  # weak kfunc absent: resolves to 0


def test_data_ksym_without_kallsyms_all_is_a_clear_error(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("ksyms"))
    obj.programs["read_ksyms"].autoload = False
    with pytest.raises(ExternError, match=r"'runqueues'.*CONFIG_KALLSYMS_ALL"):
        obj.load()
    obj.close()


def test_log_level_2_statistics_on_success(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("globals"), log_level=2)
    with obj.load():
        log = obj.programs["compute"].verifier_log
        assert "processed" in log and "insns" in log


def test_custom_btf_path_for_core(bpf_obj, tmp_path) -> None:  # type: ignore[no-untyped-def]
    custom = tmp_path / "vmlinux.btf"
    custom.write_bytes(Path("/sys/kernel/btf/vmlinux").read_bytes())
    obj = pybpf.open(bpf_obj("core"), btf_custom_path=custom)
    obj.globals["target_tgid"] = os.getpid()
    with obj.load():
        obj.attach()
        os.getpid()
        assert obj.globals["out"].tgid == os.getpid()
        results = obj.core_results["read_task"]
        names = {r.target_btf_name for r in results if r.target_btf_name is not None}
        assert names == {str(custom)}  # every matched relocation used the custom file
        assert sum(r.target_btf_name is not None for r in results) >= 10

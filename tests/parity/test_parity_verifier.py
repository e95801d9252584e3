"""Verifier summaries keep the whole reason and show the instruction as the kernel does."""

from __future__ import annotations

import errno
import re

import pytest

import pybpf
from pybpf.errors import NotSupportedError, VerifierError, summarize_log
from pybpf.sys import features


def _fail(bpf_obj, name: str) -> BaseException:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_verifier"))
    for p in obj.programs.values():
        p.autoload = p.name == name
    with pytest.raises(Exception) as info:
        obj.load()
    obj.close()
    return info.value


@pytest.mark.usefixtures("kernel")
def test_instruction_as_the_kernel_prints_it(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    err = _fail(bpf_obj, "exit_first")
    assert isinstance(err, VerifierError) and err.errno == errno.EACCES
    assert "0: (95) exit" in err.log
    assert err.summary == "R0 !read_ok (at 0: (95) exit)"
    assert re.search(r'parity_verifier\.bpf\.c:\d+: asm volatile\("exit"\);: R0', str(err))


@pytest.mark.usefixtures("kernel")
def test_context_line_above_the_reason_is_kept(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    err = _fail(bpf_obj, "ctx_past_args")
    assert isinstance(err, VerifierError)
    context = next(ln for ln in err.log.splitlines() if ln.startswith("func 'sched_switch'"))
    assert context in err.summary  # e.g. "func 'sched_switch' doesn't have 7-th argument"
    assert err.summary.index(context) < err.summary.index("invalid bpf_context access off=88")
    assert "(at 0: (79) r1 = *(u64 *)(r1 +88))" in err.summary
    assert "PAST THE ARGUMENTS" in str(err)


@pytest.mark.usefixtures("kernel")
def test_fwd_argument_context_line(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """Where LSM programs load, the FWD line is kept; here the trampoline error is clear."""
    err = _fail(bpf_obj, "fwd_arg")
    if not features.has_trampolines():
        assert isinstance(err, NotSupportedError) and "trampoline" in str(err)
        return
    assert isinstance(err, VerifierError)
    assert "func 'bpf_lsm_key_permission' arg0 type FWD is not a struct" in err.summary
    assert "invalid bpf_context access" in err.summary


# Logs this kernel cannot produce: the FWD line in btf_ctx_access's format
# (kernel/bpf/btf.c), and a message continued on tab-indented lines (made up: the
# shape, not the words, is what the summary must handle).
FWD_LOG = """\
0: R1=ctx() R10=fp0
; return ctx[0] != 0; @ fwd.bpf.c:4
0: (79) r1 = *(u64 *)(r1 +0)
func 'bpf_lsm_key_permission' arg0 type FWD is not a struct
invalid bpf_context access off=0 size=8
processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""

TAB_LOG = """\
0: R1=ctx() R10=fp0
5: (85) call bpf_probe_read_kernel#113
R2 min value is negative, either use unsigned or 'var &= const'
\tpossibly-negative size passed to the helper
\tat arg#2
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_fwd_line_kept_in_summary() -> None:
    s = summarize_log(FWD_LOG)
    assert s.reason == (
        "func 'bpf_lsm_key_permission' arg0 type FWD is not a struct; "
        "invalid bpf_context access off=0 size=8"
    )
    assert s.insn_text == "0: (79) r1 = *(u64 *)(r1 +0)"
    assert s.location == "fwd.bpf.c:4: return ctx[0] != 0;"


def test_tab_continued_lines_join_the_reason() -> None:
    s = summarize_log(TAB_LOG)
    assert s.reason == (
        "R2 min value is negative, either use unsigned or 'var &= const' "
        "possibly-negative size passed to the helper at arg#2"
    )
    assert str(s).endswith("(at 5: (85) call bpf_probe_read_kernel#113)")

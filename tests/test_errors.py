"""pybpf.errors: typed fields instead of ad-hoc attributes, copies that keep them, and
the one verifier-log summariser that sys, the loader and the CLI share."""

from __future__ import annotations

import errno

from pybpf.errors import (
    BTFError,
    ExternError,
    NotSupportedError,
    ObjectError,
    VerifierError,
    summarize_log,
)

LOG = """\
func#0 @0
0: R1=ctx() R10=fp0
; return *(int *)0; @ bad.bpf.c:7
0: (b7) r1 = 0
1: (61) r0 = *(u32 *)(r1 +0)
R1 invalid mem access 'scalar'
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0
"""


def test_fields_are_declared_and_survive_with_file() -> None:
    err = ExternError("no such ksym", section=".ksyms", program="p", errno=errno.EINVAL, log="L")
    err2 = err.with_file("x.bpf.o")
    assert err2 is not err and err2.file == "x.bpf.o"
    for e in (err, err2):
        assert (e.program, e.errno, e.log, e.section) == ("p", errno.EINVAL, "L", ".ksyms")
    b = BTFError("no type 'x'", hint="keep it").with_file("y.o")
    assert b.hint == "keep it" and not b.unexpected and str(b).startswith("y.o: ")
    assert ObjectError("bad", unexpected=True).with_file("z.o").unexpected
    n = NotSupportedError("a helper", "run it on 6.1+", min_kernel="6.1", log="verifier said")
    assert (n.feature, n.min_kernel, n.log) == ("a helper", "6.1", "verifier said")


def test_one_summariser_for_every_verifier_error() -> None:
    s = summarize_log(LOG)
    assert s.reason == "R1 invalid mem access 'scalar'"
    assert s.insn_index == 1 and s.insn_text == "1: (61) r0 = *(u32 *)(r1 +0)"
    assert s.location == "bad.bpf.c:7: return *(int *)0;"
    # VerifierError made without a summary (as sys.progs makes it) uses the same one
    err = VerifierError("p", errno.EACCES, LOG, insn_index=1)
    assert err.summary == str(s) and err.insn_index == 1
    assert str(s) in str(err)
    assert VerifierError("p", errno.EACCES, "").summary == "verifier rejected the program"

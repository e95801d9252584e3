"""What to change in the C source when the verifier rejects a program.

Each :class:`Hint` recognises one common rejection from the verifier's words and
says, in one sentence, what to change on the source line the error names.
:func:`hint_for` picks the hint of a log; the loader puts it in
``VerifierError.hint``. The docs page "Verifier hints" is generated from
:data:`HINTS`, and ``tests/bpf/verifier_hints*.bpf.c`` holds one rejected program
per hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["HINTS", "Hint", "hint_for"]


@dataclass(frozen=True)
class Hint:
    """One rejection reason: its key, the verifier's words, and the fix."""

    key: str
    title: str
    pattern: re.Pattern[str]
    fix: str
    """One sentence; ``{line}`` becomes "line N of FILE" or "the line above"."""

    def text(self, location: str | None) -> str:
        """The fix, naming ``location`` (``file.c:42``) when known."""
        if location and ":" in location:
            file, _, line = location.rpartition(":")
            where = f"line {line} of {file.rsplit('/', 1)[-1]}"
        else:
            where = "the failing line"
        return self.fix.format(line=where)


def _h(key: str, title: str, pattern: str, fix: str) -> Hint:
    return Hint(key, title, re.compile(pattern), fix)


#: The hints, most specific first (the first whose pattern matches wins).
HINTS: tuple[Hint, ...] = (
    _h(
        "null-map-value",
        "Dereferencing a pointer that may be NULL",
        r"invalid mem access '\w*_or_null\w*'",
        "On {line}, test the pointer returned by bpf_map_lookup_elem() (or the helper that "
        "made it) for NULL first, e.g. `if (!v) return 0;`, then dereference it.",
    ),
    _h(
        "null-to-helper",
        "Passing a pointer that may be NULL to a helper",
        r"type=\w*_or_null\w* expected=",
        "On {line}, check the pointer for NULL before passing it to the helper "
        "(`if (!v) return 0;`): the helper needs valid memory.",
    ),
    _h(
        "scalar-deref",
        "Dereferencing an integer as a pointer",
        r"invalid mem access 'scalar'",
        "On {line}, the pointer is a plain number to the verifier (e.g. from "
        "bpf_get_current_task()): read through it with BPF_CORE_READ() or "
        "bpf_probe_read_kernel() instead of dereferencing it.",
    ),
    _h(
        "infinite-loop",
        "A loop that never ends",
        r"infinite loop detected",
        "The loop on {line} can never exit as the verifier sees it: give it a bound "
        "that changes each iteration (a counter with a constant limit) or use bpf_for().",
    ),
    _h(
        "too-complex",
        "Too many instructions, or a loop the verifier cannot bound",
        r"BPF program is too large|is too complex|too many states|"
        r"The sequence of \d+ jumps",
        "The verifier walked too many paths around {line}: bound loops by a constant "
        "(`i < n && i < 64`), or use bpf_loop()/bpf_for(), or split the work with tail calls.",
    ),
    _h(
        "stack-bounds",
        "Out-of-bounds stack access",
        r"invalid (variable-offset )?(read|write) (from|to) stack|"
        r"invalid (indirect|variable-offset) (read|write|access)\w* (from |to )?stack|"
        r"invalid stack off=",
        "On {line}, the index into the stack variable can pass its end: check it against "
        "the array's length (`if (i >= ARRAY_SIZE(buf)) return 0;`) before the access.",
    ),
    _h(
        "map-value-bounds",
        "Out-of-bounds map value access",
        r"invalid access to map value|value is outside of the allowed memory range|"
        r"min value is negative|unbounded memory access",
        "On {line}, the offset into the map value is not provably inside it: compare the "
        "index with the number of elements (unsigned, `if (i >= N) return 0;`) just before.",
    ),
    _h(
        "packet-bounds",
        "Out-of-bounds packet access",
        r"invalid access to packet|offset is outside of the packet",
        "Before {line}, compare the end of what you read with data_end "
        "(`if ((void *)(eth + 1) > data_end) return XDP_PASS;`).",
    ),
    _h(
        "ctx-access",
        "Invalid context access",
        r"invalid bpf_context access",
        "On {line}, the program reads a context field that this program type does not "
        "have (or past its end): use the ctx struct of this hook and only its fields.",
    ),
    _h(
        "modified-ctx",
        "Using a moved context pointer",
        r"dereference of modified ctx ptr|variable ctx access",
        "On {line}, use the ctx pointer exactly as the program received it (read "
        "ctx->field, pass ctx itself to helpers) rather than ctx plus an offset.",
    ),
    _h(
        "unreleased-reference",
        "A reference that is never released",
        r"Unreleased reference|would lead to reference leak",
        "Before the return on {line}, release what the program acquired on every path: "
        "bpf_ringbuf_submit()/bpf_ringbuf_discard() a reservation, bpf_sk_release() a socket.",
    ),
    _h(
        "gpl-only",
        "A GPL-only helper without a GPL license",
        r"GPL-restricted|GPL-compatible|non-GPL",
        "The helper on {line} is GPL-only: declare a GPL-compatible license "
        '(`char LICENSE[] SEC("license") = "GPL";`) or do without that helper.',
    ),
    _h(
        "might-sleep",
        "A sleeping helper in a non-sleepable program",
        r"might sleep in a non-sleepable prog|sleepable|rcu_read_lock",
        'The call on {line} may sleep: use a sleepable section (`SEC("uprobe.s/...")`, '
        '`SEC("lsm.s/...")`, `SEC("fentry.s/...")`) or a non-sleeping helper '
        "(bpf_probe_read_user() instead of bpf_copy_from_user()).",
    ),
    _h(
        "sleepable-map",
        "A map type that sleepable programs cannot use",
        r"Sleepable programs can only use",
        "This program is sleepable (syscall or .s section): switch the map it uses to "
        "an array, hash, ring buffer or local-storage map, or make the program non-sleepable.",
    ),
    _h(
        "helper-not-allowed",
        "A helper or kfunc the program type may not call",
        r"cannot use helper|unknown func|calling kernel function \S+ is not allowed|"
        r"helper call is not allowed",
        "The program type (its SEC() name) cannot call the helper on {line}: use a "
        "program type that may (e.g. tc or xdp for packet helpers) or an allowed helper.",
    ),
    _h(
        "r0-not-set",
        "Returning without a return value",
        r"R0 !read_ok",
        "The function exits at {line} without setting its return value: end every path "
        "with `return <value>;`.",
    ),
    _h(
        "misaligned-access",
        "Misaligned access",
        r"misaligned \w* ?access",
        "On {line}, the access is not aligned to its size: read the field with "
        "__builtin_memcpy() into a local, or use a narrower type at that offset.",
    ),
)


def hint_for(log: str, reason: str = "") -> Hint | None:
    """The hint for a verifier ``log`` (its summary ``reason`` is tried first)."""
    for text in (reason, log[-4000:]):
        if not text:
            continue
        for hint in HINTS:
            if hint.pattern.search(text):
                return hint
    return None

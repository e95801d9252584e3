"""Turn a verifier log into a short, readable summary (pure).

The verifier's reason is what it printed after the failing instruction, up to its
statistics (context lines such as ``func 'f' arg0 type FWD is not a struct`` and
tab-continued lines included); the failing instruction is the last ``N: (op) ...``
line before it; the C source comes from
the ``; text @ file:line`` annotations the kernel prints when line info was
given, or from pybpf's own line info for that instruction otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pybpf._dataclass import dataclass

__all__ = ["LogSummary", "summarize_log"]

_INSN = re.compile(r"^(\d+): \(([0-9a-f]{2})\) (.*?)(?:\s+; .*)?$")
_SOURCE = re.compile(r"^; (.*) @ (\S+):(\d+)$")
_STATS = re.compile(
    r"^(verification time|stack depth|processed \d+ insns|mark_precise|\(\d+\) frame|"
    r"Live regs|func#\d+ @|-- (BEGIN|END)|(cur|old) state:)"
)
_STATE = re.compile(r"^\d+: (R\d+|frame\d+:)")


@dataclass(frozen=True)
class LogSummary:
    """The gist of a verifier rejection.

    ``insn_text`` is the failing instruction as the kernel prints it (``0: (95) exit``);
    ``str()`` reads ``R0 !read_ok (at 0: (95) exit)``.
    """

    reason: str
    insn_index: int | None
    insn_text: str | None
    source_text: str | None
    source_file: str | None
    source_line: int | None

    @property
    def location(self) -> str | None:
        """``file:line: text`` of the failing C line, when known."""
        if self.source_file is None:
            return None
        text = f" {self.source_text}" if self.source_text else ""
        return f"{self.source_file}:{self.source_line}:{text}"

    def __str__(self) -> str:
        if self.insn_text is None:
            return self.reason
        return f"{self.reason} (at {self.insn_text})"


LineLookup = Callable[[int], tuple[str, int, str] | None]


_MAX_REASON_LINES = 4


def _reason_block(lines: list[str], end: int) -> tuple[int, list[str]]:
    """The verifier's message ending at ``lines[end]``: every line it printed after the
    failing instruction (``func 'f' doesn't have 7-th argument`` above ``invalid
    bpf_context access``), tab-continued lines joined to the line they continue."""
    start = end
    while start > 0:
        prev = lines[start - 1]
        bare = prev.strip()
        if not bare or _INSN.match(bare) or _STATE.match(bare) or _SOURCE.match(bare):
            break
        if _STATS.match(bare) and not prev[:1].isspace():
            break
        start -= 1
    parts: list[str] = []
    for ln in lines[start : end + 1]:
        if ln[:1] in ("\t", " ") and parts:
            parts[-1] = f"{parts[-1]} {ln.strip()}"
        else:
            parts.append(ln.strip())
    return start, parts[-_MAX_REASON_LINES:]


def summarize_log(log: str, line_for_insn: LineLookup | None = None) -> LogSummary:
    """Summarise ``log``; ``line_for_insn(i)`` gives (file, line, text) for insn ``i``.

    The reason keeps every line the verifier printed for the failure (context lines
    and tab-continued ones, joined with "; "); the instruction is kept as the kernel
    prints it (``0: (95) exit``).
    """
    lines = [ln.rstrip() for ln in log.splitlines()]
    # the reason: last meaningful line that is not a statistic, state dump or insn
    reason_at = None
    for i in range(len(lines) - 1, -1, -1):
        ln = lines[i].strip()
        if not ln or (_STATS.match(ln) and not lines[i][:1].isspace()):
            continue
        if _INSN.match(ln) or _STATE.match(ln) or _SOURCE.match(ln):
            break
        reason_at = i
        break
    if reason_at is None:
        reason = "the verifier rejected the program"
        end = len(lines)
    else:
        end, parts = _reason_block(lines, reason_at)
        reason = "; ".join(parts)
    insn_index = insn_text = None
    src_text = src_file = None
    src_line = None
    for j in range(end - 1, -1, -1):
        ln = lines[j].strip()
        m = _INSN.match(ln)
        if m and insn_index is None:
            insn_index = int(m.group(1))
            insn_text = f"{m.group(1)}: ({m.group(2)}) {m.group(3).strip()}"
            continue
        s = _SOURCE.match(ln)
        if s and insn_index is not None:
            src_text, src_file, src_line = s.group(1).strip(), s.group(2), int(s.group(3))
            break
    if src_file is None and insn_index is not None and line_for_insn is not None:
        found = line_for_insn(insn_index)
        if found:
            src_file, src_line, src_text = found
            src_text = src_text.strip()
    return LogSummary(reason, insn_index, insn_text, src_text, src_file, src_line)

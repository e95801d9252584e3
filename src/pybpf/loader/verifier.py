"""Turn a verifier log into a short, readable summary (pure).

The verifier's reason is the last line before its statistics; the failing
instruction is the last ``N: (op) ...`` line before it; the C source comes from
the ``; text @ file:line`` annotations the kernel prints when line info was
given, or from pybpf's own line info for that instruction otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

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
    """The gist of a verifier rejection."""

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
        parts = []
        if self.insn_index is not None:
            parts.append(f"insn {self.insn_index}: {self.insn_text}")
        parts.append(self.reason)
        return ": ".join(parts)


LineLookup = Callable[[int], tuple[str, int, str] | None]


def summarize_log(log: str, line_for_insn: LineLookup | None = None) -> LogSummary:
    """Summarise ``log``; ``line_for_insn(i)`` gives (file, line, text) for insn ``i``."""
    lines = [ln.rstrip() for ln in log.splitlines()]
    # the reason: last meaningful line that is not a statistic, state dump or insn
    reason_at = None
    for i in range(len(lines) - 1, -1, -1):
        ln = lines[i].strip()
        if not ln or _STATS.match(ln):
            continue
        if _INSN.match(ln) or _STATE.match(ln) or _SOURCE.match(ln):
            break
        reason_at = i
        break
    reason = (
        lines[reason_at].strip() if reason_at is not None else "the verifier rejected the program"
    )
    # extend a multi-line reason upwards (e.g. "R1 type=... expected=..." pairs)
    end = reason_at if reason_at is not None else len(lines)
    insn_index = insn_text = None
    src_text = src_file = None
    src_line = None
    for j in range(end - 1, -1, -1):
        ln = lines[j].strip()
        m = _INSN.match(ln)
        if m and insn_index is None:
            insn_index, insn_text = int(m.group(1)), m.group(3).strip()
            continue
        s = _SOURCE.match(ln)
        if s and insn_index is not None:
            src_text, src_file, src_line = s.group(1).strip(), s.group(2), int(s.group(3))
            break
    if src_file is None and insn_index is not None and line_for_insn is not None:
        found = line_for_insn(insn_index)
        if found:
            src_file, src_line, src_text = found
    return LogSummary(reason, insn_index, insn_text, src_text, src_file, src_line)

"""The one exception hierarchy of pybpf.

Every failure pybpf reports is a :class:`BPFError`. Each carries structured
attributes (file, section, offset, program, errno, ...) so that callers can
act on them, and a ``str()`` that reads as one clear sentence naming what is
wrong and where.
"""

from __future__ import annotations

import errno as _errno
import functools
import os
import re
from collections.abc import Callable

__all__ = [
    "AsmError",
    "AttachError",
    "BPFError",
    "BTFError",
    "BTFFallbackWarning",
    "ConfigError",
    "CoreRelocationError",
    "EventError",
    "ExternError",
    "KernelError",
    "LinkError",
    "LogSummary",
    "MapError",
    "NotSupportedError",
    "ObjectError",
    "ProgramLoadError",
    "RelocationError",
    "StaticLinkError",
    "UsageError",
    "VerifierError",
    "summarize_log",
]


class BPFError(Exception):
    """Base of every pybpf error."""


def _where(file: str | None, section: str | None, offset: int | None) -> str:
    parts: list[str] = []
    if file:
        parts.append(str(file))
    if section is not None:
        parts.append(f"section {section!r}")
    if offset is not None:
        parts.append(f"offset {offset:#x}")
    return ", ".join(parts)


class ObjectError(BPFError, ValueError):
    """A BPF ELF object is malformed or uses something pybpf cannot read.

    ``file``, ``section`` and ``offset`` say where, as far as they are known.
    ``unexpected`` is True when a reader's last-resort handler turned a plain Python
    exception (its ``__cause__``) into this error: a bounds check pybpf missed, worth
    reporting. Deliberate translations keep their cause too, with ``unexpected`` False.
    ``hint``, when set, is the one sentence of the message that says what to do.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        section: str | None = None,
        offset: int | None = None,
        unexpected: bool = False,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.section = section
        self.offset = offset
        self.unexpected = unexpected
        self.hint = hint
        where = _where(file, section, offset)
        super().__init__(f"{where}: {message}" if where else message)

    def with_file(self, file: str | None) -> ObjectError:
        """Return a copy of this error that names ``file`` (for readers of bytes)."""
        if file is None or self.file is not None:
            return self
        err = type(self).__new__(type(self))
        err.__dict__.update(self.__dict__)
        ObjectError.__init__(
            err,
            self.message,
            file=file,
            section=self.section,
            offset=self.offset,
            unexpected=self.unexpected,
            hint=self.hint,
        )
        return err


class AsmError(BPFError, ValueError):
    """BPF assembly text (``pybpf.asm.assemble``) cannot be assembled.

    ``line`` and ``column`` (1-based) say where; ``text`` is the offending line.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int,
        column: int,
        text: str = "",
        source: str | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.text = text
        self.source = source
        where = f"{source or '<asm>'}:{line}:{column}"
        shown = f"\n    {text.strip()}" if text.strip() else ""
        super().__init__(f"{where}: {message}{shown}")


class BTFError(ObjectError):
    """BTF or BTF.ext data is malformed, or a type is not what it must be."""


class RelocationError(ObjectError):
    """A relocation cannot be applied (bad target, unknown symbol, ...).

    When the kernel's refusal of the program revealed it, ``errno`` and ``log`` (the
    verifier log) are the kernel's answer; otherwise 0 and "".
    """

    #: the kernel's errno when its refusal of the program revealed the problem
    errno: int
    #: the verifier log of that refusal
    log: str

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        section: str | None = None,
        offset: int | None = None,
        program: str | None = None,
        errno: int = 0,
        log: str = "",
    ) -> None:
        self.program = program
        self.errno = errno
        self.log = log
        if program is not None:
            message = f"program {program!r}: {message}"
        super().__init__(message, file=file, section=section, offset=offset)


class CoreRelocationError(RelocationError):
    """A CO-RE relocation cannot be resolved against the target BTF."""


class ExternError(RelocationError):
    """A strong ``.kconfig``/``.ksyms`` extern cannot be resolved on this kernel."""


class StaticLinkError(ObjectError):
    """Objects cannot be linked into one: a symbol is defined twice, never defined,
    or declared with types that do not match.

    ``symbol`` names the symbol and ``files`` the objects involved (both, for a clash):

    >>> try:                                               # doctest: +SKIP
    ...     pybpf.open(["lib.bpf.o", "other.bpf.o"])
    ... except StaticLinkError as e:
    ...     print(e.symbol, e.files)
    lib_mul ('lib.bpf.o', 'other.bpf.o')
    """

    def __init__(self, message: str, *, symbol: str, files: tuple[str, ...]) -> None:
        self.symbol = symbol
        self.files = files
        super().__init__(message)


class KernelError(BPFError, OSError):
    """The kernel refused an operation; keeps ``errno`` and says what was attempted.

    ``op`` is a short description of the attempted operation, for example
    ``"create map 'events'"``.
    """

    def __init__(
        self, op: str, err: int, detail: str | None = None, *, hint: str | None = None
    ) -> None:
        self.op = op
        self.detail = detail
        self.hint = hint
        msg = f"{op}: {os.strerror(err) if err else 'failed'}"
        if err:
            msg += f" ({_errno.errorcode.get(err, err)})"
        if detail:
            msg += f": {detail}"
        if hint:
            msg += f" (hint: {hint})"
        OSError.__init__(self, err, msg)
        self.errno = err

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.op, self.errno, self.detail), {"hint": self.hint})


class MapError(KernelError):
    """A map operation failed in the kernel."""


class ProgramLoadError(KernelError):
    """``BPF_PROG_LOAD`` failed for a reason other than the verifier's judgement."""

    def __init__(
        self,
        op: str,
        err: int,
        detail: str | None = None,
        *,
        hint: str | None = None,
        program: str | None = None,
        log: str = "",
    ) -> None:
        self.program = program
        self.log = log
        super().__init__(op, err, detail, hint=hint)


class VerifierError(ProgramLoadError):
    """The verifier rejected a program.

    ``log`` is the complete verifier log; ``str()`` is a short summary with the
    failing instruction, the verifier's reason and, where line info is known,
    the C source line (``globals.bpf.c:42: value = *ptr;``). For the common
    rejections, ``hint`` says in one sentence what to change on that line.

    Example::

        try:
            obj.load()
        except pybpf.errors.VerifierError as err:
            print(err.source, err.hint)
            print(err.log)           # the whole verifier log
    """

    def __init__(
        self,
        program: str,
        err: int,
        log: str,
        *,
        summary: str | None = None,
        source: str | None = None,
        truncated: bool = False,
        hint: str | None = None,
        hint_key: str | None = None,
        insn_index: int | None = None,
    ) -> None:
        #: which known rejection ``hint`` explains (see ``pybpf.loader.hints``), or None
        self.hint_key = hint_key
        #: index of the instruction the verifier stopped at, when the caller found it
        self.insn_index = insn_index
        self.summary = summary or _last_log_lines(log)
        self.source = source
        self.truncated = truncated
        detail = self.summary
        if source:
            detail = f"{source}: {detail}"
        super().__init__(
            f"load program {program!r}", err, detail, program=program, log=log, hint=hint
        )


def _last_log_lines(log: str) -> str:
    return str(summarize_log(log)) if log.strip() else "verifier rejected the program"


# ---- the verifier log's gist (pure; the one summariser, used by sys, loader and CLI) ----


class LogSummary:
    """The gist of a verifier rejection (see :func:`summarize_log`).

    ``insn_text`` is the failing instruction as the kernel prints it (``0: (95) exit``);
    ``str()`` reads ``R0 !read_ok (at 0: (95) exit)``.
    """

    __slots__ = ("insn_index", "insn_text", "reason", "source_file", "source_line", "source_text")

    def __init__(
        self,
        reason: str,
        insn_index: int | None,
        insn_text: str | None,
        source_text: str | None,
        source_file: str | None,
        source_line: int | None,
    ) -> None:
        self.reason = reason
        self.insn_index = insn_index
        self.insn_text = insn_text
        self.source_text = source_text
        self.source_file = source_file
        self.source_line = source_line

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

    def __repr__(self) -> str:
        return f"LogSummary({self.reason!r}, insn={self.insn_text!r}, at={self.location!r})"


_MAX_REASON_LINES = 4


@functools.cache
def _log_patterns() -> tuple[re.Pattern[str], ...]:
    """insn, source annotation, statistics, register state: compiled on first use
    (``import pybpf`` imports this module; most processes never see a rejection)."""
    return (
        re.compile(r"^(\d+): \(([0-9a-f]{2})\) (.*?)(?:\s+; .*)?$"),
        re.compile(r"^; (.*) @ (\S+):(\d+)$"),
        re.compile(
            r"^(verification time|stack depth|processed \d+ insns|mark_precise|\(\d+\) frame|"
            r"Live regs|func#\d+ @|-- (BEGIN|END)|(cur|old) state:)"
        ),
        re.compile(r"^\d+: (R\d+|frame\d+:)"),
    )


def _reason_block(lines: list[str], end: int) -> tuple[int, list[str]]:
    """The verifier's message ending at ``lines[end]``: every line it printed after the
    failing instruction (``func 'f' doesn't have 7-th argument`` above ``invalid
    bpf_context access``), tab-continued lines joined to the line they continue."""
    insn, source, stats, state = _log_patterns()
    start = end
    while start > 0:
        prev = lines[start - 1]
        bare = prev.strip()
        if not bare or insn.match(bare) or state.match(bare) or source.match(bare):
            break
        if stats.match(bare) and not prev[:1].isspace():
            break
        start -= 1
    parts: list[str] = []
    for ln in lines[start : end + 1]:
        if ln[:1] in ("\t", " ") and parts:
            parts[-1] = f"{parts[-1]} {ln.strip()}"
        else:
            parts.append(ln.strip())
    return start, parts[-_MAX_REASON_LINES:]


def summarize_log(
    log: str, line_for_insn: Callable[[int], tuple[str, int, str] | None] | None = None
) -> LogSummary:
    """Summarise a verifier log; ``line_for_insn(i)`` gives (file, line, text) for insn ``i``.

    The verifier's reason is what it printed after the failing instruction, up to its
    statistics (context lines and tab-continued ones, joined with "; "); the failing
    instruction is the last ``N: (op) ...`` line before it, kept as the kernel prints
    it; the C source comes from the ``; text @ file:line`` annotations the kernel
    prints when line info was given, else from ``line_for_insn``.

    >>> str(summarize_log("0: (95) exit\nR0 !read_ok\nprocessed 1 insns"))
    'R0 !read_ok (at 0: (95) exit)'
    """
    insn, source, stats, state = _log_patterns()
    lines = [ln.rstrip() for ln in log.splitlines()]
    # the reason: last meaningful line that is not a statistic, state dump or insn
    reason_at = None
    for i in range(len(lines) - 1, -1, -1):
        ln = lines[i].strip()
        if not ln or (stats.match(ln) and not lines[i][:1].isspace()):
            continue
        if insn.match(ln) or state.match(ln) or source.match(ln):
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
        m = insn.match(ln)
        if m and insn_index is None:
            insn_index = int(m.group(1))
            insn_text = f"{m.group(1)}: ({m.group(2)}) {m.group(3).strip()}"
            continue
        s = source.match(ln)
        if s and insn_index is not None:
            src_text, src_file, src_line = s.group(1).strip(), s.group(2), int(s.group(3))
            break
    if src_file is None and insn_index is not None and line_for_insn is not None:
        found = line_for_insn(insn_index)
        if found:
            src_file, src_line, src_text = found
            src_text = src_text.strip()
    return LogSummary(reason, insn_index, insn_text, src_text, src_file, src_line)


class AttachError(KernelError):
    """Attaching a program to a hook failed."""


class LinkError(KernelError):
    """A link operation (update, pin, detach) failed."""


class NotSupportedError(BPFError):
    """The running kernel lacks a feature; says which and what to use instead.

    ``feature`` names it; ``min_kernel`` (e.g. ``"5.18"``), when known, is the first
    mainline Linux version that has it; ``log`` is the verifier log when a refused
    program load revealed the gap.

    >>> str(NotSupportedError("kprobe.multi links", min_kernel="5.18"))
    'kprobe.multi links is not supported by this kernel (it needs Linux 5.18 or later)'
    """

    def __init__(
        self,
        feature: str,
        hint: str | None = None,
        *,
        errno: int = 0,
        min_kernel: str | None = None,
        log: str = "",
    ) -> None:
        self.feature = feature
        self.hint = hint
        self.errno = errno
        self.min_kernel = min_kernel
        self.log = log
        msg = f"{feature} is not supported by this kernel"
        if min_kernel:
            msg += f" (it needs Linux {min_kernel} or later)"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)


class EventError(BPFError, ValueError):
    """An event record (ring/perf buffer, trace_pipe) is not what the reader expects."""


class ConfigError(BPFError, ValueError):
    """A configuration file (e.g. ``pybpf export``'s YAML) is invalid.

    ``file``, ``line`` and ``field`` (a dotted path such as
    ``objects[0].metrics.counters[1].map``) say where.
    """

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, field: str = ""
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        where = f"{file}:{line}" if file and line else (file or "")
        parts = [p for p in (where, field) if p]
        super().__init__(f"{': '.join(parts)}: {message}" if parts else message)


class UsageError(BPFError, TypeError):
    """pybpf was called the wrong way: a missing argument or target, an unknown or missing
    field, a closed reader. The message says what to pass instead."""


class BTFFallbackWarning(RuntimeWarning):
    """An object loads without its BTF because the kernel has none or refused it.

    The programs still load, without function and line info; ``Object.btf_loaded``
    is False and ``Object.btf_error`` says why.
    """

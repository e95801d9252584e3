"""``pybpf explain OBJ [PROGRAM] [--json]``: one program through every stage, side by side.

Columns: (1) the ELF instructions with their relocations; (2) the code pybpf
hands to the kernel (map fds, global data, subprogram calls, CO-RE patches,
externs); (3) the kernel's xlated code after verification (map ids, helper
names, inlined helpers) or, for a rejected program, the instructions the
verifier walked and its reason; (4) the JIT's machine code (capstone,
``pybpf[jit]``). Rows are grouped by C source line from BTF line info; ``*``
marks an instruction a stage changed.
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ProgramView", "explain_object", "register"]

_INSN = struct.Struct("<BBhi")
_LOG_INSN = re.compile(r"^(\d+): \(([0-9a-f]{2})\) (.*?)(?:\s+; .*)?$")


def register(subparsers: Any) -> None:
    """Add the ``explain`` subcommand."""
    p = subparsers.add_parser(
        "explain", help="show each program's stages side by side: ELF, relocated, xlated, JIT"
    )
    p.add_argument("object", metavar="OBJ", help="BPF ELF object (.bpf.o)")
    p.add_argument("program", metavar="PROGRAM", nargs="?", help="only this program")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_run)


# -- model ----------------------------------------------------------------------------------


@dataclass
class Cell:
    """One instruction of one stage: its index (slot or address), text and change mark."""

    index: int
    text: str
    note: str = ""
    changed: bool = False


@dataclass
class Group:
    """The instructions of every stage that belong to one source line."""

    file: str
    line: int
    source: str
    elf: list[Cell] = field(default_factory=list)
    relocated: list[Cell] = field(default_factory=list)
    xlated: list[Cell] = field(default_factory=list)
    jited: list[Cell] = field(default_factory=list)


@dataclass
class ProgramView:
    """Everything ``explain`` shows for one program."""

    name: str
    section: str
    loaded: bool
    error: str | None = None
    error_insn: int | None = None
    error_kind: str | None = None
    jit_note: str | None = None
    groups: list[Group] = field(default_factory=list)


# -- stages ---------------------------------------------------------------------------------


def _fmt(code: bytes, slot: int) -> tuple[str, int]:
    from pybpf.asm.disasm import decode_at
    from pybpf.asm.syntax import format_instruction

    size, insn = decode_at(code, slot * 8)
    if insn is None:
        return "<truncated>", 1
    text = format_instruction(insn, pc=slot * 8, alu32=True)
    if text is None:
        return f"<unknown {code[slot * 8 : slot * 8 + 8].hex(' ')}>", 1
    return text.replace("\t", " "), size // 8


def _slots(code: bytes) -> list[tuple[int, str, int]]:
    out = []
    slot = 0
    while slot * 8 < len(code):
        text, width = _fmt(code, slot)
        out.append((slot, text, width))
        slot += width
    return out


def _elf_code(linked: Any, functions: dict[str, Any]) -> bytes:
    code = bytearray(len(linked.code))
    for name, start in linked.starts.items():
        insns = functions[name].insns
        code[start * 8 : start * 8 + len(insns)] = insns
    return bytes(code)


def _elf_notes(obj: Any, linked: Any, functions: dict[str, Any]) -> dict[int, str]:
    notes: dict[int, str] = {}
    for name, results in obj.core_results.items():
        start = linked.starts.get(name)
        for res in results if start is not None else ():
            notes[start + res.insn_index] = f"CO-RE {res.kind} {res.access}"
    for name, start in linked.starts.items():
        for r in functions[name].relocations:
            what = r.symbol or r.target
            if r.kind.value == "data" and r.offset:
                what = f"{r.target}+{r.offset:#x}"
            notes[start + r.insn_index] = f"reloc {r.kind.value} {what}"
    return notes


def _relocated_notes(obj: Any, linked: Any, code: bytes) -> dict[int, str]:
    notes: dict[int, list[str]] = {}
    for fx in linked.fixups:
        r = fx.reloc
        lo = _INSN.unpack_from(code, fx.slot * 8)
        what = {
            "map": f"map {r.target} fd {lo[3]}",
            "data": f"{r.target}+{r.offset:#x} (map fd {lo[3]})",
            "kconfig": f"kconfig {r.target}",
            "ksym": f"ksym {r.target}",
            "kfunc": f"kfunc {r.target} btf_id {lo[3]}",
        }.get(r.kind.value, f"{r.kind.value} {r.target}")
        notes.setdefault(fx.slot, []).append(what)
    starts = {s: n for n, s in linked.starts.items()}
    for slot, _text, _w in _slots(code):
        op, regs, _off, imm = _INSN.unpack_from(code, slot * 8)
        if op == 0x85 and regs >> 4 == 1 and slot + 1 + imm in starts:
            notes.setdefault(slot, []).append(f"call {starts[slot + 1 + imm]}")
    for name, results in obj.core_results.items():
        start = linked.starts.get(name)
        if start is None:
            continue
        for res in results:
            change = re.sub(r"^\([A-Z/]+\) ", "", res.change)
            notes.setdefault(start + res.insn_index, []).append(
                f"CO-RE {res.kind} {res.access}: {change}"
            )
    return {k: "; ".join(v) for k, v in notes.items()}


def _helper_names() -> dict[int, str]:
    from pybpf.uapi.enums import FuncId

    return {int(f): f"bpf_{f.name}" for f in FuncId}


def _xlated_text(code: bytes, slot: int, kallsyms: Any, call_base: int) -> tuple[str, str]:
    text, _width = _fmt(code, slot)
    note = ""
    op, regs, _off, imm = _INSN.unpack_from(code, slot * 8)
    src = regs >> 4
    if op == 0x18 and src in (1, 2, 5, 6):
        hi = _INSN.unpack_from(code, slot * 8 + 8)[3]
        text = f"r{regs & 0xF} = map[id:{imm}]" + (f"[0]+{hi}" if src in (2, 6) else "")
    elif op == 0x85 and src in (0, 2) and call_base and imm:
        addr = (call_base + imm) & (1 << 64) - 1
        name = kallsyms.get(addr)
        text = f"call {name}" if name else f"call {addr:#x}"
        note = f"{addr:#x}" if name else ""
    return text, note


def _kallsyms_by_addr() -> tuple[dict[int, str], int]:
    try:
        with open("/proc/kallsyms") as f:
            lines = f.read().splitlines()
    except OSError:
        return {}, 0
    by_addr: dict[int, str] = {}
    base = 0
    for ln in lines:
        parts = ln.split()
        if len(parts) < 3 or parts[1] not in "tTwW":
            continue
        addr = int(parts[0], 16)
        if parts[2] == "__bpf_call_base":
            base = addr
        by_addr.setdefault(addr, parts[2])
    return by_addr, base


# -- grouping -------------------------------------------------------------------------------

Key = tuple[str, int]


def _owner(points: list[tuple[int, Key]], at: int) -> Key:
    """The key of the last point at or before ``at`` (points sorted)."""
    key: Key = ("", 0)
    for pos, k in points:
        if pos > at:
            break
        key = k
    return key


def _view(obj: Any, name: str, sent: dict[str, bytes], error: BaseException | None) -> ProgramView:
    from pybpf.plan.linker import link_program

    spec = obj.spec
    functions = {**spec.subprograms, **spec.programs}
    main = spec.programs[name]
    linked = link_program(main, functions, lambda f: f.insns, file=spec.file)
    prog = obj.programs[name]
    view = ProgramView(name, main.section, prog.loaded)
    elf = _elf_code(linked, functions)
    relocated = sent.get(name)
    sources: dict[Key, str] = {("", 0): ""}
    points: list[tuple[int, Key]] = []
    for li in sorted(linked.line_info, key=lambda li: li.insn_off):
        key = (li.file_name.rsplit("/", 1)[-1], li.line)
        sources.setdefault(key, li.line_text.strip())
        points.append((li.insn_off // 8, key))
    order: list[Key] = []
    groups: dict[Key, Group] = {}

    def group(key: Key) -> Group:
        if key not in groups:
            groups[key] = Group(key[0], key[1], sources.get(key, ""))
            order.append(key)
        return groups[key]

    elf_notes = _elf_notes(obj, linked, functions)
    rel_notes = _relocated_notes(obj, linked, relocated) if relocated else {}
    for slot, text, width in _slots(elf):
        g = group(_owner(points, slot))
        g.elf.append(Cell(slot, text, elf_notes.get(slot, "")))
        if relocated:
            rtext, _ = _fmt(relocated, slot)
            same = relocated[slot * 8 : (slot + width) * 8] == elf[slot * 8 : (slot + width) * 8]
            g.relocated.append(Cell(slot, rtext, rel_notes.get(slot, ""), not same))
    if error is not None:
        _rejected(view, error, groups, points, relocated or elf, group)
    elif prog.loaded:
        _loaded(view, prog, groups, group, relocated or elf)
    view.groups = [groups[k] for k in order]
    return view


def _rejected(
    view: ProgramView,
    error: BaseException,
    groups: dict[Key, Group],
    points: Any,
    code: bytes,
    group: Any,
) -> None:
    from pybpf.errors import summarize_log

    log = getattr(error, "log", "") or ""
    summary = summarize_log(log) if log else None
    view.error = summary.reason if summary else str(error)
    view.error_kind = "verifier" if summary else "load"
    view.error_insn = summary.insn_index if summary else None
    seen: dict[int, str] = {}
    for ln in log.splitlines():
        m = _LOG_INSN.match(ln.strip())
        if m:
            seen.setdefault(int(m.group(1)), m.group(3).strip())
    for slot in sorted(seen):
        g = group(_owner(points, slot))
        note = f"verifier: {view.error}" if slot == view.error_insn else ""
        g.xlated.append(Cell(slot, seen[slot], note, changed=bool(note)))


def _loaded(
    view: ProgramView, prog: Any, groups: dict[Key, Group], group: Any, relocated: bytes
) -> None:
    from pybpf.btf import BTF
    from pybpf.sys.info import prog_info, prog_line_info, prog_xlated_insns

    fd = prog.fd
    info = prog_info(fd)
    xlated = prog_xlated_insns(fd)
    kallsyms, call_base = _kallsyms_by_addr()
    btf = None
    if info.btf_id:
        from pybpf.sys.info import btf_raw_by_id

        btf = BTF.from_bytes(btf_raw_by_id(info.btf_id))
    records = prog_line_info(fd) if btf is not None else b""
    xpoints: list[tuple[int, Key]] = []
    keys: list[Key] = []
    for off in range(0, len(records), 16):
        insn_off, file_off, line_off, line_col = struct.unpack_from("<IIII", records, off)
        key = (btf.string(file_off).rsplit("/", 1)[-1], line_col >> 10) if btf else ("", 0)
        xpoints.append((insn_off, key))
        keys.append(key)
        del line_off
    # compare xlated with relocated position by position inside each line group
    rel_by_group = {k: [c.text for c in g.relocated] for k, g in groups.items()}
    for slot, _t, _w in _slots(xlated):
        text, note = _xlated_text(xlated, slot, kallsyms, call_base)
        key = _owner(xpoints, slot)
        g = group(key)
        pos = len(g.xlated)
        before = rel_by_group.get(key, [])
        changed = pos >= len(before) or before[pos] != text
        g.xlated.append(Cell(slot, text, note, changed))
    if not info.jited_prog_len:
        view.jit_note = "not JIT-compiled (interpreter)"
        return
    from pybpf.kernel.jit import (
        disassemble_jited,
        have_capstone,
        jited_functions,
        jited_line_addresses,
    )

    if not have_capstone():
        view.jit_note = "JIT code present; install pybpf[jit] (capstone) to see it"
        return
    funcs = jited_functions(fd)
    jlines = jited_line_addresses(fd)
    spans = [(f.address, len(f.code), f.offset) for f in funcs]
    code = b"".join(f.code for f in funcs)

    def image_off(addr: int) -> int:
        for start, n, at in spans:
            if start <= addr < start + n:
                return at + addr - start
        return -1

    jpoints = sorted((image_off(a), keys[i]) for i, a in enumerate(jlines) if i < len(keys))
    for start, n, at in spans:
        for ins in disassemble_jited(code[at : at + n], address=start):
            text = _name_target(ins.text, kallsyms)
            off = at + ins.address - start
            group(_owner(jpoints, off)).jited.append(Cell(off, text))


def _name_target(text: str, kallsyms: dict[int, str]) -> str:
    """``call 0xffff...`` with the kernel symbol it reaches."""
    m = re.match(r"^(call|jmp|bl|b)\s+#?(0x[0-9a-f]+)$", text)
    if m:
        name = kallsyms.get(int(m.group(2), 16))
        if name:
            return f"{text} <{name}>"
    return text


# -- driver ---------------------------------------------------------------------------------


def explain_object(path: str, program: str | None = None) -> list[ProgramView]:
    """Load each program of ``path`` on its own and describe every stage it went through."""
    import pybpf
    from pybpf.elf.spec import ObjectSpec
    from pybpf.errors import BPFError

    names = list(ObjectSpec.from_file(path).programs)
    if program is not None:
        if program not in names:
            raise BPFError(f"{path}: no program {program!r} (programs: {', '.join(names)})")
        names = [program]
    views = []
    for name in names:
        obj = pybpf.open(path)
        try:
            for p in obj.programs.values():
                p.autoload = p.name == name
            error: BaseException | None = None
            try:
                obj.load()
            except BPFError as exc:
                error = exc
            # the instructions each BPF_PROG_LOAD was sent (kept after a refused load)
            sent = obj.handles.sent if obj.handles is not None else {}
            views.append(_view(obj, name, sent, error))
        finally:
            obj.close()
    return views


# -- rendering ------------------------------------------------------------------------------


def _cell_text(c: Cell | None, width: int, index_width: int = 4) -> str:
    if c is None:
        return " " * (index_width + 3 + width)
    note = c.note if not c.note.startswith("verifier: ") else ""
    text = c.text + (f"  <{note}>" if note else "")
    if len(text) > width:
        text = text[: width - 1] + "…"
    mark = "*" if c.changed else " "
    return f"{mark}{c.index:>{index_width}}: {text:<{width}}"


def render(views: list[ProgramView]) -> str:
    """The aligned text view."""
    out: list[str] = []
    for v in views:
        out.append(f"== {v.name} ({v.section}) " + ("loaded" if v.loaded else "NOT LOADED"))
        if v.error:
            where = f" at insn {v.error_insn}" if v.error_insn is not None else ""
            out.append(f"   {v.error_kind}{where}: {v.error}")
        if v.jit_note:
            out.append(f"   jit: {v.jit_note}")
        third = "verifier walk" if v.error else "xlated (kernel)"
        w = (44, 56, 40)
        out.append(
            f" {'ELF':<{w[0] + 6}}| {'relocated (pybpf)':<{w[1] + 6}}| {third:<{w[2] + 6}}| JIT"
        )
        for g in v.groups:
            src = f"{g.file}:{g.line}  {g.source}" if g.line else "(no line info)"
            out.append(f"; {src}")
            n = max(len(g.elf), len(g.relocated), len(g.xlated), len(g.jited))
            for i in range(n):
                cols = [
                    _cell_text(g.elf[i] if i < len(g.elf) else None, w[0]),
                    _cell_text(g.relocated[i] if i < len(g.relocated) else None, w[1]),
                    _cell_text(g.xlated[i] if i < len(g.xlated) else None, w[2]),
                ]
                jit = g.jited[i] if i < len(g.jited) else None
                jtext = f"{jit.index:4x}: {jit.text}" if jit else ""
                out.append(("|".join(cols) + "| " + jtext).rstrip())
                x = g.xlated[i] if i < len(g.xlated) else None
                if v.error and x is not None and x.index == v.error_insn:
                    pad = w[0] + w[1] + 14
                    out.append(f"{' ' * pad}^^^ verifier: {v.error}")
        out.append("")
    return "\n".join(out)


def _run(args: argparse.Namespace) -> int:
    views = explain_object(args.object, args.program)
    if args.json:
        from pybpf.cli._output import emit_json

        emit_json([asdict(v) for v in views])
    else:
        sys.stdout.write(render(views) + "\n")
    return 0 if all(v.loaded for v in views) else 1


def dump_jited(prog_id: int, *, json: bool = False) -> int:
    """``pybpf prog dump jited ID``: the machine code per function, like bpftool's."""
    from pybpf.kernel.jit import disassemble_jited, jited_functions
    from pybpf.sys.objects import get_fd_by_id

    kallsyms, _base = _kallsyms_by_addr()
    with get_fd_by_id("prog", prog_id) as fd:
        funcs = jited_functions(fd)
    records: list[dict[str, Any]] = []
    lines: list[str] = []
    for f in funcs:
        name = kallsyms.get(f.address, f"{f.address:#x}")
        lines.append(f"{name}:")
        insns = []
        for ins in disassemble_jited(f.code, address=f.address):
            text = _name_target(ins.text, kallsyms)
            off = ins.address - f.address
            lines.append(f"{off:5x}:\t{ins.raw.hex(' '):<24}\t{text}")
            insns.append({"pc": f"{off:#x}", "raw": ins.raw.hex(), "operation": text})
        lines.append("")
        records.append({"name": name, "address": f"{f.address:#x}", "insns": insns})
    if json:
        from pybpf.cli._output import emit_json

        code = b"".join(f.code for f in funcs)
        emit_json(
            {"id": prog_id, "bytes_jited": len(code), "hex": code.hex(), "functions": records}
        )
    else:
        sys.stdout.write("\n".join(lines))
    return 0

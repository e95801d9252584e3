"""Per-instruction annotations from an object's ``.BTF.ext``: source lines and CO-RE text."""

from __future__ import annotations

from dataclasses import field

from pybpf._dataclass import dataclass
from pybpf.asm.disasm import SourceLine
from pybpf.elf.reader import ElfObject
from pybpf.errors import BTFError

__all__ = ["Annotations", "btf_annotations"]


@dataclass
class Annotations:
    """Source lines and CO-RE relocation descriptions, keyed by section name."""

    source: dict[str, list[SourceLine]] = field(default_factory=dict)
    core: dict[str, dict[int, str]] = field(default_factory=dict)


def btf_annotations(obj: ElfObject, *, strict: bool = True) -> Annotations:
    """Read ``.BTF``/``.BTF.ext`` of ``obj``; empty when either is absent.

    With ``strict`` a malformed section raises :class:`BTFError`; otherwise it is
    ignored (llvm-objdump likewise only warns and disassembles without it).
    """
    out = Annotations()
    btf_sec, ext_sec = obj.section(".BTF"), obj.section(".BTF.ext")
    if btf_sec is None or ext_sec is None:
        return out
    from pybpf.asm.core_text import describe_core_relo
    from pybpf.btf import BTF
    from pybpf.btf.ext import BTFExt

    try:
        btf = BTF.from_bytes(btf_sec.data)
        ext = BTFExt.from_bytes(ext_sec.data, btf)
    except BTFError as exc:
        if strict:
            raise exc.with_file(obj.file) from exc.__cause__
        return out
    for sec, lines in ext.line_info.items():
        out.source[sec] = [
            SourceLine(li.insn_off, li.line_text, li.line, li.file_name) for li in lines
        ]
    for sec, relos in ext.core_relos.items():
        texts: dict[int, str] = {}
        for r in relos:
            texts.setdefault(r.insn_off, describe_core_relo(btf, r))
        out.core[sec] = texts
    return out

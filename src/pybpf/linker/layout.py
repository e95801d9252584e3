"""Where each kept input section lands in the output (pure).

Sections with the same name are appended in input order, each at the next offset
aligned to the section's alignment so far (padding is zeros), as libbpf's linker does.
``license`` and ``version`` are not appended but must be identical everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pybpf.elf.reader import Section, SectionType
from pybpf.errors import ObjectError
from pybpf.linker.inputs import LinkInput, is_kept
from pybpf.linker.writer import OutSection

__all__ = ["Placement", "place_sections"]

_DEDUPED = ("license", "version")


@dataclass
class Placement:
    """The output sections and, per (input, section index), where its bytes went."""

    sections: list[OutSection] = field(default_factory=list)
    by_name: dict[str, OutSection] = field(default_factory=dict)
    at: dict[tuple[int, int], tuple[OutSection, int]] = field(default_factory=dict)
    deduped: set[tuple[int, int]] = field(default_factory=set)
    first_file: dict[str, str] = field(default_factory=dict)

    def of(self, i: int, shndx: int) -> tuple[OutSection, int] | None:
        """(output section, offset of the input section in it), or None if dropped."""
        return self.at.get((i, shndx))


def _new_section(sec: Section) -> OutSection:
    return OutSection(sec.name, sec.type, sec.flags, sec.entsize, max(sec.addralign, 1))


def _check_same_kind(out: OutSection, sec: Section, inp: LinkInput) -> None:
    if (out.type, out.flags, out.entsize) != (sec.type, sec.flags, sec.entsize):
        raise ObjectError(
            f"section has other type or flags than in an earlier object "
            f"(type {sec.type}/{out.type}, flags {sec.flags:#x}/{out.flags:#x})",
            file=inp.file,
            section=sec.name,
        )


def _append(out: OutSection, sec: Section) -> int:
    """Append ``sec`` to ``out``; returns the offset used.

    The offset is aligned to the largest alignment seen so far in the section, not
    only ``sec``'s own, as libbpf's linker does (so both give the same layout).
    """
    out.align = align = max(out.align, sec.addralign, 1)
    off = (out.size + align - 1) // align * align
    if sec.type == SectionType.NOBITS:
        out.nobits_size = off + sec.size
    else:
        out.data += b"\0" * (off - len(out.data)) + sec.data
    return off


def place_sections(inputs: list[LinkInput]) -> Placement:
    """Lay out every kept section of every input."""
    p = Placement()
    for i, inp in enumerate(inputs):
        for sec in inp.elf.sections:
            if not is_kept(sec):
                continue
            out = p.by_name.get(sec.name)
            if out is None:
                out = p.by_name[sec.name] = _new_section(sec)
                p.sections.append(out)
                p.first_file[sec.name] = inp.file
            else:
                _check_same_kind(out, sec, inp)
                if sec.name in _DEDUPED:
                    if bytes(out.data) != sec.data:
                        raise ObjectError(
                            f"section differs from the one in {p.first_file[sec.name]}; "
                            "linked objects must agree",
                            file=inp.file,
                            section=sec.name,
                        )
                    p.deduped.add((i, sec.index))
                    continue
            p.at[(i, sec.index)] = (out, _append(out, sec))
    return p

"""Pull the ``.BTF`` and ``.BTF.ext`` sections out of a BPF ELF object (pyelftools)."""

from __future__ import annotations

import io

from pybpf.errors import BTFError

__all__ = ["ELF_MAGIC", "btf_sections"]

ELF_MAGIC = b"\x7fELF"


def btf_sections(data: bytes, *, file: str | None = None) -> tuple[bytes | None, bytes | None]:
    """The raw (``.BTF``, ``.BTF.ext``) section contents, None where absent."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(data))
        btf = elf.get_section_by_name(".BTF")
        ext = elf.get_section_by_name(".BTF.ext")
        return (
            bytes(btf.data()) if btf is not None else None,
            bytes(ext.data()) if ext is not None else None,
        )
    except (ELFError, ValueError, KeyError, IndexError, OSError) as exc:
        raise BTFError(f"cannot read ELF object: {exc}", file=file) from exc

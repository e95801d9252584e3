"""``pybpf disasm OBJ``: disassemble a BPF object like ``llvm-objdump -d``.

``--reloc`` shows ELF and CO-RE relocations inline (``llvm-objdump -dr``);
``--source`` shows the C source lines recorded in ``.BTF.ext`` line_info, which
survive ``llvm-strip -g`` (``llvm-objdump -S`` style); ``--alu32`` spells 32-bit
loads, stores and atomics with ``w`` registers (``--mattr=+alu32``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``disasm`` subcommand."""
    p = subparsers.add_parser(
        "disasm", help="disassemble a BPF object (llvm-objdump -d compatible)"
    )
    p.add_argument("object", metavar="OBJ", help="BPF ELF object (.bpf.o)")
    p.add_argument(
        "--section",
        "-j",
        action="append",
        metavar="S",
        help="only this section (repeatable)",
    )
    p.add_argument("--reloc", "-r", action="store_true", help="show relocations inline (like -dr)")
    p.add_argument(
        "--source", "-S", action="store_true", help="show source lines from .BTF.ext line_info"
    )
    p.add_argument(
        "--alu32", action="store_true", help="w registers for 32-bit loads/stores/atomics"
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pybpf.asm.annotate import btf_annotations
    from pybpf.asm.disasm import disassemble
    from pybpf.elf.reader import ElfObject
    from pybpf.errors import ObjectError

    obj = ElfObject.from_file(args.object)
    if args.section:
        missing = [s for s in args.section if obj.section(s) is None]
        if missing:
            raise ObjectError(f"no section {missing[0]!r} in object", file=args.object)
    ann = btf_annotations(obj, strict=args.source)
    text = disassemble(
        obj,
        name=args.object,
        sections=args.section,
        relocs=args.reloc,
        alu32=args.alu32,
        source=ann.source if args.source else None,
        core=ann.core,
    )
    sys.stdout.write(text)
    return 0

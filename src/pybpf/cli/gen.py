"""``pybpf gen skeleton OBJ -o NAME_skel.py``: a typed Python skeleton of an object.

Like ``bpftool gen skeleton`` for C: the module embeds the object and declares its
maps, programs, variables and types (see :mod:`pybpf.skeleton`).
``pybpf gen object OUT.bpf.o A.bpf.o B.bpf.o`` links objects statically into one,
like ``bpftool gen object`` (see :mod:`pybpf.linker`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``gen`` subcommand (``gen skeleton``, ``gen object``)."""
    p = subparsers.add_parser(
        "gen", help="generate code from a BPF object (Python skeletons, linked objects)"
    )
    sub = p.add_subparsers(dest="gen_command", metavar="WHAT", required=True)
    s = sub.add_parser(
        "skeleton",
        help="a Python module embedding OBJ with typed maps, programs and variables",
    )
    s.add_argument("object", metavar="OBJ", help="BPF ELF object (.bpf.o)")
    s.add_argument(
        "-o", "--output", metavar="FILE", default="-", help="module to write (default: stdout)"
    )
    s.add_argument(
        "--name",
        default=None,
        help="skeleton name: class <Name>Skeleton (default: OBJ's name without .bpf.o)",
    )
    s.set_defaults(func=_skeleton)
    o = sub.add_parser(
        "object",
        help="link BPF objects statically into one (externs resolved across them)",
    )
    o.add_argument("output", metavar="OUT", help="linked object to write (.bpf.o)")
    o.add_argument("inputs", metavar="OBJ", nargs="+", help="BPF ELF objects to link, in order")
    o.add_argument(
        "--allow-unresolved",
        action="store_true",
        help="leave externs no object defines (building a library object)",
    )
    o.set_defaults(func=_object)


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` only once the whole text is written (no half-written module)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _skeleton(args: argparse.Namespace) -> int:
    from pybpf.skeleton import generate_file

    text = generate_file(args.object, args.name)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        _write_atomic(Path(args.output), text)
    return 0


def _object(args: argparse.Namespace) -> int:
    from pybpf.linker import link_files

    link_files(args.output, args.inputs, allow_unresolved=args.allow_unresolved)
    return 0

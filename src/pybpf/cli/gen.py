"""``pybpf gen skeleton OBJ -o NAME_skel.py``: a typed Python skeleton of an object.

Like ``bpftool gen skeleton`` for C: the module embeds the object and declares its
maps, programs, variables and types (see :mod:`pybpf.skeleton`).
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
    """Add the ``gen`` subcommand (``gen skeleton``)."""
    p = subparsers.add_parser("gen", help="generate code from a BPF object (Python skeletons)")
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

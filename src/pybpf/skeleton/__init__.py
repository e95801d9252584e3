"""Python skeletons of BPF objects (``pybpf gen skeleton``, bpftool's for Python).

:func:`generate` turns an object into the source of a module that embeds it and
declares typed attributes for its maps, programs and variables, dataclasses for its
types, and a ``<Name>Skeleton`` class built on :mod:`pybpf.skeleton.runtime`::

    $ pybpf gen skeleton bootstrap.bpf.o -o bootstrap_skel.py

    with BootstrapSkeleton.open() as skel:
        skel.rodata.min_duration_ns = 50_000_000  # const volatile: before load
        skel.load()
        skel.attach()
        with skel.ringbuf_rb(lambda e: print(e.pid, e.comm)) as rb:  # e: Event
            rb.poll(1000)
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["generate", "generate_file", "skeleton_name"]


def skeleton_name(path: str | Path) -> str:
    """The default skeleton name of an object file: ``bootstrap.bpf.o`` -> ``bootstrap``."""
    base = Path(path).name
    for suffix in (".bpf.o", ".o"):
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    return re.sub(r"\W", "_", base) or "obj"


def generate(data: bytes, name: str, *, file: str | None = None) -> str:
    """The source of the skeleton module of object ``data``, named ``name``.

    ``file`` only names the object in error messages; the output depends on the
    bytes and the name alone.
    """
    from pybpf.elf.spec import ObjectSpec
    from pybpf.skeleton.model import build_model
    from pybpf.skeleton.render import render

    spec = ObjectSpec.from_bytes(data, name=name, file=file or f"{name}.bpf.o")
    return render(build_model(spec, bytes(data), name))


def generate_file(path: str | Path, name: str | None = None) -> str:
    """The skeleton source of the object file at ``path`` (default name from the file)."""
    from pybpf.errors import ObjectError

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ObjectError(f"cannot read object: {exc.strerror or exc}", file=str(path)) from exc
    return generate(data, name or skeleton_name(path), file=str(path))

"""Static linker: several BPF ELF objects into one (pure, no syscalls).

Like libbpf's ``bpf_linker`` behind ``bpftool gen object``: extern functions,
maps and variables resolve across objects (weak/strong, hidden/static rules),
same-named sections are appended, BTF is merged and deduplicated and
``.BTF.ext`` is kept with rebased offsets.

>>> from pybpf.linker import link_files  # doctest: +SKIP
>>> link_files("app.bpf.o", ["main.bpf.o", "lib.bpf.o"])  # doctest: +SKIP
PosixPath('app.bpf.o')

Not to be confused with :mod:`pybpf.plan.linker`, which joins one program with
its subprograms at load time.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pybpf.linker.core import Source, link_objects

__all__ = ["link_files", "link_objects"]


def link_files(
    output: str | os.PathLike[str],
    inputs: Sequence[Source],
    *,
    allow_unresolved: bool = False,
) -> Path:
    """Link ``inputs`` and write the object to ``output`` (replaced only when complete).

    >>> link_files("app.bpf.o", ["main.bpf.o", "lib.bpf.o"])  # doctest: +SKIP
    PosixPath('app.bpf.o')
    """
    data = link_objects(inputs, allow_unresolved=allow_unresolved)
    out = Path(output)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out

"""Tools built on pybpf's public API, each a console script with its CO-RE object shipped
in ``pybpf/tools/objects`` (rebuild with ``make -C src/pybpf/tools/bpf``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["object_path"]


def object_path(name: str) -> Path:
    """Path of the shipped compiled object ``<name>.bpf.o``."""
    ref = resources.files("pybpf.tools") / "objects" / f"{name}.bpf.o"
    return Path(str(ref))

"""What is in the kernel right now: programs, maps, links and BTF objects by id.

The same view as ``bpftool prog|map|link list``, as dataclasses from ``pybpf.sys.info``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pybpf.errors import KernelError
from pybpf.sys import info, objects

__all__ = ["btf_objects", "links", "maps", "programs"]

T = TypeVar("T")


def _walk(kind: objects.ObjKind, get: Callable[[Any], T]) -> Iterator[T]:
    for obj_id in objects.ids(kind):
        try:
            fd = objects.get_fd_by_id(kind, obj_id)
        except KernelError:
            continue  # went away between the id walk and the open
        with fd:
            yield get(fd)


def programs() -> list[info.ProgInfo]:
    """Every loaded program's ``bpf_prog_info``."""
    return list(_walk("prog", info.prog_info))


def maps() -> list[info.MapInfo]:
    """Every map's ``bpf_map_info``."""
    return list(_walk("map", info.map_info))


def links() -> list[info.LinkInfo]:
    """Every BPF link's ``bpf_link_info``."""
    return list(_walk("link", info.link_info))


def btf_objects() -> list[info.BtfInfo]:
    """Every BTF object the kernel holds (vmlinux, modules, programs' BTF)."""
    return list(_walk("btf", info.btf_info))

"""bpftool's ways of naming a kernel object on the command line:
``id N``, ``name NAME`` or ``pinned PATH`` (a bare ``N`` still means ``id N``)."""

from __future__ import annotations

import errno
from typing import Any, Literal

from pybpf.errors import BPFError, KernelError

__all__ = ["TARGET_METAVAR", "add_target", "boot_time", "fdinfo", "one", "resolve", "split_target"]

TARGET_METAVAR = "{id ID | name NAME | pinned PATH}"
Kind = Literal["prog", "map"]


def add_target(parser: Any, *extra: str) -> None:
    """Add the object selector (and the ``extra`` positional words after it)."""
    usage = " ".join([TARGET_METAVAR, *extra])
    parser.add_argument("target", nargs="+", metavar="ARG", help=usage)


def split_target(words: list[str], kind: Kind) -> tuple[tuple[str, str], list[str]]:
    """``(("id"|"name"|"pinned", value), rest)`` from the command line words."""
    if words and words[0] in ("id", "name", "pinned"):
        if len(words) < 2:
            raise BPFError(f"{kind} {words[0]}: missing value ({TARGET_METAVAR})")
        return (words[0], words[1]), words[2:]
    if words and words[0].isdigit():
        return ("id", words[0]), words[1:]
    raise BPFError(f"name the {kind} as {TARGET_METAVAR}, not {' '.join(words[:2])!r}")


def _info(kind: Kind, fd: Any) -> Any:
    from pybpf.sys.info import map_info, prog_info

    return prog_info(fd) if kind == "prog" else map_info(fd)


def resolve(kind: Kind, sel: tuple[str, str]) -> list[int]:
    """Kernel ids of the objects ``sel`` names (several for a shared name)."""
    from pybpf.sys import objects

    how, value = sel
    if how == "id":
        try:
            return [int(value, 0)]
        except ValueError as exc:
            raise BPFError(f"{kind} id {value!r} is not a number") from exc
    if how == "pinned":
        with objects.obj_get(value) as fd:
            info = _info(kind, fd)
            kind_of_pin = type(info).__name__.lower().removesuffix("info")
            if kind_of_pin != kind:  # pragma: no cover - info() raises first
                raise BPFError(f"{value}: pinned object is not a {kind}")
            return [int(info.id)]
    found = []
    for obj_id in objects.ids(kind):
        try:
            with objects.get_fd_by_id(kind, obj_id) as fd:
                if _info(kind, fd).name == value:
                    found.append(obj_id)
        except KernelError:
            continue  # went away meanwhile
    if not found:
        raise KernelError(f"find {kind} named {value!r}", errno.ENOENT)
    return found


def one(kind: Kind, sel: tuple[str, str]) -> int:
    """The single id ``sel`` names; several matches are an error (as bpftool)."""
    ids = resolve(kind, sel)
    if len(ids) > 1:
        raise BPFError(
            f"{len(ids)} {kind}s are named {sel[1]!r} (ids {', '.join(map(str, ids))}): "
            f"use {kind} id N"
        )
    return ids[0]


def fdinfo(fd: int) -> dict[str, str]:
    """The ``/proc/self/fdinfo`` fields of ``fd`` (memlock, map_type, prog_tag, ...)."""
    out: dict[str, str] = {}
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                key, _, val = line.partition(":")
                out[key.strip()] = val.strip()
    except OSError:
        pass
    return out


def boot_time() -> float:
    """Wall-clock time of boot, to turn ``load_time`` (ns since boot) into a date."""
    import time

    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)

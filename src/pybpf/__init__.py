"""pybpf: a pure-Python eBPF toolchain (read, load, relocate, attach, observe).

The import is light: submodules load on first use of the names below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pybpf import errors

__version__ = "0.1.0"

# public name -> module that defines it (imported lazily)
_LAZY = {
    "ObjectSpec": "pybpf.elf.spec",
    "Object": "pybpf.object",
    "open": "pybpf.object",
    "load": "pybpf.object",
    "Map": "pybpf.map",
    "Program": "pybpf.program",
    "Link": "pybpf.link.base",
    "RingBuffer": "pybpf.events.ringbuf",
    "PerfBuffer": "pybpf.events.perfbuf",
    "TracePipe": "pybpf.events.tracepipe",
    "load_program": "pybpf.loader.asm",
}

if TYPE_CHECKING:
    from pybpf.elf.spec import ObjectSpec
    from pybpf.events.perfbuf import PerfBuffer
    from pybpf.events.ringbuf import RingBuffer
    from pybpf.events.tracepipe import TracePipe
    from pybpf.link.base import Link
    from pybpf.loader.asm import load_program
    from pybpf.map import Map
    from pybpf.object import Object, load, open
    from pybpf.program import Program


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'pybpf' has no attribute {name!r}")
    import importlib

    from pybpf._gcpause import paused

    with paused():  # the first use imports much of pybpf: no collections meanwhile
        value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


__all__ = [
    "Link",
    "Map",
    "Object",
    "ObjectSpec",
    "PerfBuffer",
    "Program",
    "RingBuffer",
    "TracePipe",
    "__version__",
    "errors",
    "load",
    "load_program",
    "open",
]

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
}

if TYPE_CHECKING:
    from pybpf.elf.spec import ObjectSpec


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'pybpf' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


__all__ = ["ObjectSpec", "__version__", "errors"]

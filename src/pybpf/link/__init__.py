"""Attaching programs to hooks: :class:`Link` handles and one module per attach family.

``base`` holds the link types; ``tracepoint``, ``tracing``, ``kprobe``, ``uprobe``,
``iter`` and ``perf_event`` the attach functions. Submodules import lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pybpf.link.base import CallbackLink, FDLink, Link, LinkGroup, PerfEventLink

if TYPE_CHECKING:
    from pybpf.sys.info import LinkInfo

__all__ = ["CallbackLink", "FDLink", "Link", "LinkGroup", "LinkInfo", "PerfEventLink"]


def __getattr__(name: str) -> Any:
    if name == "LinkInfo":  # pybpf.sys.info loads on first use
        from pybpf.sys.info import LinkInfo

        return LinkInfo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

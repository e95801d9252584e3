"""Attaching programs to hooks: :class:`Link` handles and one module per attach family.

``base`` holds the link types; ``tracepoint``, ``tracing``, ``kprobe``, ``uprobe``,
``iter`` and ``perf_event`` the attach functions. Submodules import lazily.
"""

from __future__ import annotations

from pybpf.link.base import CallbackLink, FDLink, Link, LinkGroup, LinkInfo, PerfEventLink

__all__ = ["CallbackLink", "FDLink", "Link", "LinkGroup", "LinkInfo", "PerfEventLink"]

"""``pybpf run``: load any compiled object, attach it, show its events, printk output
and maps (the "bpftrace for compiled objects")."""

from __future__ import annotations

"""The kernel layer: the only code in pybpf that makes system calls.

``pybpf.sys.syscall.bpf`` is the one entry point into bpf(2); the modules around
it wrap each command with typed arguments (``maps``, ``progs``, ``links``,
``objects``, ``info``, ``btf``), own file descriptors (``fd``), open perf events
(``perf``), speak rtnetlink (``netlink``), set the BPF socket options
(``sockopt``), enter network namespaces (``netns``) and probe what the running
kernel supports (``features``).
"""

from __future__ import annotations

from pybpf.sys.fd import FD
from pybpf.sys.syscall import bpf

__all__ = ["FD", "bpf"]

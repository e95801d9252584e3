"""Events from BPF programs: ring buffers, perf buffers and trace_pipe.

``RingBuffer`` and ``RingBufferPoller`` read ``BPF_MAP_TYPE_RINGBUF`` maps (per
record, or zero-copy in batches), ``PerfBuffer`` reads ``BPF_MAP_TYPE_PERF_EVENT_ARRAY``
maps, ``TracePipe`` reads ``bpf_printk`` output. Submodules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pybpf.events.batch import PerfBatch, RingBatch
    from pybpf.events.perfbuf import PerfBuffer
    from pybpf.events.poller import RingBufferPoller
    from pybpf.events.ringbuf import RingBuffer
    from pybpf.events.tracepipe import TraceLine, TracePipe
    from pybpf.events.userringbuf import UserRingBuffer

_LAZY = {
    "PerfBatch": "pybpf.events.batch",
    "PerfBuffer": "pybpf.events.perfbuf",
    "RingBatch": "pybpf.events.batch",
    "RingBuffer": "pybpf.events.ringbuf",
    "RingBufferPoller": "pybpf.events.poller",
    "TraceLine": "pybpf.events.tracepipe",
    "TracePipe": "pybpf.events.tracepipe",
    "UserRingBuffer": "pybpf.events.userringbuf",
}

__all__ = [
    "PerfBatch",
    "PerfBuffer",
    "RingBatch",
    "RingBuffer",
    "RingBufferPoller",
    "TraceLine",
    "TracePipe",
    "UserRingBuffer",
]


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'pybpf.events' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value

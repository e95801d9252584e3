"""CPU sets from sysfs: per-CPU map values and perf buffers are sized by them."""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["num_possible_cpus", "online_cpus", "parse_cpu_list", "possible_cpus"]

_CPU = Path("/sys/devices/system/cpu")


def parse_cpu_list(text: str) -> list[int]:
    """Parse the kernel's CPU list format (``0-3,5,7-8``) into sorted CPU numbers."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            first = int(lo)
            last = int(hi) if sep else first
        except ValueError as exc:
            raise ValueError(f"bad CPU list {text!r}") from exc
        if last < first:
            raise ValueError(f"bad CPU range {part!r} in {text!r}")
        cpus.update(range(first, last + 1))
    return sorted(cpus)


@functools.cache
def possible_cpus() -> tuple[int, ...]:
    """CPUs that may ever exist (per-CPU map values have one slot for each)."""
    return tuple(parse_cpu_list((_CPU / "possible").read_text()))


def online_cpus() -> list[int]:
    """CPUs online now (perf buffers open one ring per online CPU); not cached."""
    return parse_cpu_list((_CPU / "online").read_text())


def num_possible_cpus() -> int:
    """How many slots a per-CPU map value has: one per possible CPU.

    The kernel sizes per-CPU values as ``round_up(value_size, 8) * num_possible_cpus()``
    (``bpf_map_value_size()``, kernel/bpf/syscall.c), where ``num_possible_cpus()`` is
    the weight of ``cpu_possible_mask``, and copies them CPU by CPU with
    ``for_each_possible_cpu()``: the count of possible CPUs, not the highest + 1
    (libbpf's rounding up, which only differs when the mask has holes).
    """
    return len(possible_cpus()) or 1

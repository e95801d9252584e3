"""Log2 histograms as BCC and bpftrace users know them: one row per power-of-two slot.

Slots follow bcc's ``bpf_log2l``: slot 0 holds the value 0 and slot ``s >= 1`` holds
``[2**(s-1), 2**s - 1]``. Rendering is pure text so tools, the runner and tests share it.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["log2_slot", "render_log2", "slot_range"]

BAR_WIDTH = 40


def log2_slot(value: int) -> int:
    """The slot of ``value`` (what the BPF side computes): 0 for 0, bit length otherwise."""
    return max(0, int(value)).bit_length()


def slot_range(slot: int) -> tuple[int, int]:
    """The smallest and largest value of ``slot``."""
    if slot <= 0:
        return 0, 0
    return 1 << (slot - 1), (1 << slot) - 1


def render_log2(counts: Mapping[int, int], label: str = "value") -> list[str]:
    """Rows of a log2 histogram of ``counts`` (slot -> count), from the first used slot
    (at most slot 1) to the last one; empty when every count is zero."""
    used = [s for s, c in counts.items() if c]
    if not used:
        return []
    first, last = min(min(used), 1), max(used)
    width = 10 if slot_range(last)[1] < 10**10 else 20
    peak = max(counts.get(s, 0) for s in range(first, last + 1))
    rows = [f"{'':5}{label:<{2 * width - 1}} : count     distribution"]
    for s in range(first, last + 1):
        low, high = slot_range(s)
        c = int(counts.get(s, 0))
        stars = "*" * (c * BAR_WIDTH // peak) if peak else ""
        rows.append(f"{low:>{width}} -> {high:<{width}} : {c:<8} |{stars:<{BAR_WIDTH}}|")
    return rows

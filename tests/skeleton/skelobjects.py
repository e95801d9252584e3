"""Which objects the skeleton tests generate, type-check and run."""

from __future__ import annotations

from pathlib import Path

OBJECTS = ("globals", "maps", "core", "tailcall", "events_ringbuf", "events_perf", "btf_types")
TOOLS_OBJECTS = Path(__file__).resolve().parents[2] / "src" / "pybpf" / "tools" / "objects"

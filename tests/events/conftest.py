"""Fixtures of the event tests: the producer objects, loaded, and their drivers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from events_helpers import Emitter, RingProducer


@pytest.fixture()
def ringobj(kernel: None, bpf_obj: Any) -> Iterator[Any]:
    """events_ringbuf.bpf.o loaded."""
    import pybpf

    with pybpf.load(bpf_obj("events_ringbuf")) as obj:
        yield obj


@pytest.fixture()
def produce(ringobj: Any) -> RingProducer:
    return RingProducer(ringobj)


@pytest.fixture()
def perfobj(kernel: None, bpf_obj: Any) -> Iterator[Any]:
    """events_perf.bpf.o loaded."""
    import pybpf

    with pybpf.load(bpf_obj("events_perf")) as obj:
        yield obj


@pytest.fixture()
def emit(perfobj: Any) -> Emitter:
    return Emitter(perfobj)

"""Several ring buffers behind one epoll (libbpf's ``ring_buffer__add``)."""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

from pybpf.events._lifetime import Closing
from pybpf.events._mapinfo import HasFileno
from pybpf.events.ringbuf import Callback, RingBuffer

__all__ = ["RingBufferPoller"]


class RingBufferPoller(Closing):
    """Waits on many rings with one epoll and runs each ring's callback.

    ``add()`` opens a :class:`RingBuffer` for a map and registers it; :meth:`poll`
    waits until any ring has data and consumes the rings that are ready.
    """

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._rings: dict[int, RingBuffer[Any]] = {}

    def add(
        self,
        map_fd: int | HasFileno,
        callback: Callback,
        *,
        decoder: Callable[[memoryview], Any] | None = None,
    ) -> RingBuffer[Any]:
        """Open the ring of ``map_fd`` with ``callback`` and poll it with the others."""
        ring: RingBuffer[Any] = RingBuffer(map_fd, callback, decoder=decoder)
        fd = ring.map_fd
        self._epoll.register(fd, select.EPOLLIN)
        self._rings[fd] = ring
        return ring

    @property
    def rings(self) -> list[RingBuffer[Any]]:
        """The rings added so far, in order."""
        return list(self._rings.values())

    def poll(self, timeout_ms: int = -1) -> int:
        """Wait up to ``timeout_ms`` (-1: forever) for any ring, then consume the ready
        ones; returns the number of records processed."""
        events = self._epoll.poll(-1 if timeout_ms < 0 else timeout_ms / 1000.0)
        total = 0
        for fd, _ in events:
            ring = self._rings.get(fd)
            if ring is not None:
                total += ring.consume()
        return total

    def consume(self) -> int:
        """Consume every ring without waiting; returns the number of records processed."""
        return sum(ring.consume() for ring in self._rings.values())

    def fileno(self) -> int:
        """The epoll fd: readable when some ring has data."""
        return self._epoll.fileno()

    async def run(self) -> None:
        """Consume rings as data arrives in the running asyncio loop, until cancelled."""
        import asyncio  # only asyncio users pay for importing it

        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        fd = self.fileno()
        loop.add_reader(fd, ready.set)
        try:
            while True:
                ready.clear()
                if self.consume() == 0:
                    await ready.wait()
                else:
                    await asyncio.sleep(0)  # let other tasks run between bursts
        finally:
            loop.remove_reader(fd)

    def close(self) -> None:
        """Close every ring and the epoll (idempotent)."""
        for ring in self._rings.values():
            ring.close()
        self._rings.clear()
        self._epoll.close()

    def __len__(self) -> int:
        return len(self._rings)

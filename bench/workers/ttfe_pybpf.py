"""pybpf side of the time-to-first-event benchmark: the bootstrap tool's own code path.

Opens the shipped bootstrap object through its skeleton, loads, attaches, polls the
ring buffer with the tool's event formatting, starts /bin/true itself so a first
event is sure to come, and stops after the first event. Prints one JSON line with
CLOCK_MONOTONIC times (the driver subtracts its own spawn time).
"""

from __future__ import annotations

import time

T0 = time.monotonic()


def main() -> None:
    import json
    import os

    from pybpf.tools.bootstrap import HEADER, format_event
    from pybpf.tools.skel.bootstrap_skel import BootstrapSkeleton, Event

    first: list[float] = []
    with BootstrapSkeleton.open() as skel:
        skel.rodata.min_duration_ns = 0
        skel.load()
        skel.attach()

        def handle(event: Event) -> None:
            print(format_event(event), flush=True)
            if not first:
                first.append(time.monotonic())

        with skel.ringbuf_rb(handle) as rb:
            print(HEADER, flush=True)
            attached = time.monotonic()
            child = os.posix_spawn("/bin/true", ["/bin/true"], os.environ)
            while not first:
                rb.poll(100)
            os.waitpid(child, 0)
    print(
        json.dumps(
            {
                "attached": attached,
                "first_event": first[0],
                "start": T0,
                "seconds": time.monotonic() - T0,
            }
        )
    )


if __name__ == "__main__":
    main()

"""pybpf side of the many-objects benchmark: open, load and close every object given,
one after the other, in one process. Prints one JSON line (seconds after imports)."""

from __future__ import annotations

import json
import sys
import time

T0 = time.perf_counter()


def main() -> None:
    import pybpf

    t_import = time.perf_counter() - T0
    t = time.perf_counter()
    for path in sys.argv[1:]:
        obj = pybpf.open(path)
        obj.load()
        obj.close()
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - t,
                "import_seconds": t_import,
                "objects": len(sys.argv) - 1,
            }
        )
    )


if __name__ == "__main__":
    main()

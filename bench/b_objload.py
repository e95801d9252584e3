"""Object load: whole-process time and peak RSS of open+load+attach+close.

pybpf (a Python process: interpreter start, imports, open, load, attach, close) vs
a libbpf C loader (bench/c/objload.c) on the same objects: libbpf-bootstrap's
bootstrap (shipped with pybpf) and the execsnoop-like / opensnoop-like CO-RE
objects of bench/bpf. pybpf's in-process time is split into the kernel's
BPF_PROG_LOAD time, close (link/map teardown in the kernel) and pybpf's own work.

Three more tables, each side by side with libbpf C in the same run:
- ``load()`` of an object with the kconfig extern LINUX_HAS_SYSCALL_WRAPPER
  (bench/bpf/ksyscall_like.bpf.c) against ``bpf_object__load``;
- time to first event: process start to the first ring-buffer record handled, for the
  bootstrap tool (its skeleton and formatting) against a libbpf C bootstrap
  (bench/c/bootstrap.c); both start /bin/true right after attaching;
- many objects: 50 different CO-RE objects (bench/bpf/many.bpf.c, one VARIANT each)
  opened, loaded and closed one after the other in one process.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from common import (
    BENCH,
    ROOT,
    Options,
    Table,
    bpf_object,
    c_program,
    cold_core_cache,
    log,
    median,
    python_worker,
    run_child,
    verdict,
)

COLUMNS = [
    "object",
    "progs",
    "pybpf process ms",
    "pybpf RSS MiB",
    "import ms",
    "BPF_PROG_LOAD ms",
    "all kernel calls ms",
    "close ms",
    "pybpf own ms",
    "reference",
    "ref process ms",
    "ref RSS MiB",
    "ratio",
    "target",
    "verdict",
    "pybpf CPU ms",
    "pybpf own CPU ms",
    "own CPU target",
    "own verdict",
    "own CPU ms, CO-RE cold",
    "ref CPU ms",
    "CPU ratio",
]
TARGET = 1.5
OWN_TARGET_MS = 30.0


def objects(quick: bool) -> list[tuple[str, Path]]:
    """The objects measured (building the bench ones)."""
    objs = [("bootstrap", ROOT / "src" / "pybpf" / "tools" / "objects" / "bootstrap.bpf.o")]
    if not quick:
        for name in ("execsnoop_like", "opensnoop_like"):
            objs.append((name, bpf_object(BENCH / "bpf" / f"{name}.bpf.c", name)))
    return objs


def _own_cpu(d: dict[str, float]) -> float:
    """pybpf's own CPU ms of one sample: all but ``import pybpf``, the kernel's time in
    pybpf's calls into it (BPF_PROG_LOAD, map creation, attach...) and close."""
    return (
        d["cpu_seconds"]
        - d["import_cpu_seconds"]
        - d["syscall_cpu_seconds"]
        - d["close_cpu_seconds"]
    ) * 1e3


def measure(path: Path, n: int) -> tuple[dict[str, float], dict[str, float]]:
    """Medians for pybpf and libbpf C over ``n`` alternating processes each."""
    exe = c_program("objload")
    py: list[Any] = []
    c: list[Any] = []
    run_child(python_worker("objload_pybpf", str(path)))  # warm the page cache and BTF cache
    for _ in range(n):
        py.append(run_child(python_worker("objload_pybpf", str(path))))
        c.append(run_child([str(exe), str(path)]))
    pm = {k: median([x.data[k] * 1e3 for x in py]) for k in py[0].data if k.endswith("seconds")}
    pm["process"] = median([x.wall * 1e3 for x in py])
    pm["rss"] = median([x.maxrss_kb / 1024 for x in py])
    pm["programs"] = py[0].data["programs"]
    pm["cpu"] = median([x.cpu * 1e3 for x in py])
    pm["own_cpu"] = median([_own_cpu(x.data) for x in py])
    cold = []
    for _ in range(n):
        env, cleanup = cold_core_cache()
        try:
            cold.append(run_child(python_worker("objload_pybpf", str(path)), env=env))
        finally:
            cleanup()
    pm["own_cpu_cold"] = median([_own_cpu(x.data) for x in cold])
    cm = {
        "process": median([x.wall * 1e3 for x in c]),
        "rss": median([x.maxrss_kb / 1024 for x in c]),
        "cpu": median([x.cpu * 1e3 for x in c]),
    }
    cm["programs"] = c[0].data["programs"]
    return pm, cm


def run(opts: Options) -> list[Table]:
    """One row per object."""
    n = 1 if opts.quick else 5
    table = Table(f"Object open+load+attach+close, whole process (median of {n})", COLUMNS)
    for name, path in objects(opts.quick):
        log(f"objload: {name}")
        pm, cm = measure(path, n)
        own = pm["seconds"] - pm["syscall_seconds"] - pm["close_seconds"] - pm["import_seconds"]
        ratio = pm["process"] / cm["process"]
        table.rows.append(
            [
                name,
                int(pm["programs"]),
                pm["process"],
                pm["rss"],
                pm["import_seconds"],
                pm["prog_load_seconds"],
                pm["syscall_seconds"],
                pm["close_seconds"],
                own,
                "libbpf C loader",
                cm["process"],
                cm["rss"],
                ratio,
                f"<= {TARGET:.1f}x",
                verdict(ratio <= TARGET),
                pm["cpu"],
                pm["own_cpu"],
                f"<= {OWN_TARGET_MS:.0f} ms",
                verdict(pm["own_cpu"] <= OWN_TARGET_MS),
                pm["own_cpu_cold"],
                cm["cpu"],
                pm["cpu"] / cm["cpu"],
            ]
        )
    table.notes.append(
        "pybpf own = in-process time - imports - the kernel's time in pybpf's calls into it "
        "('all kernel calls': bpf(2), perf_event_open(2), perf ioctls, timed at pybpf's syscall "
        "seam; BPF_PROG_LOAD, map creation, BTF load, attach: what the C loader asks the kernel "
        "for too) - close; close is mostly the kernel "
        "tearing down tracepoint links (the C loader pays it too; pybpf closes perf-event links "
        "from a few threads so the kernel's RCU waits overlap). Process time includes "
        "interpreter start. CPU = user + system time (rusage; own CPU from the worker's "
        "process_time): not inflated by waiting for a CPU on a loaded machine. Own CPU is "
        "measured with pybpf's per-boot caches warm, as every load after an object's first "
        "this boot; 'CO-RE cold' is the first load of the object this boot (its CO-RE "
        "answers not yet kept: kernel BTF read, the resolver imported; the other caches "
        "copied, so the kernel BTF index is checksummed again)."
    )
    return [table, ksyscall_table(opts), ttfe_table(opts), many_table(opts)]


KSYSCALL_TARGET = 1.2


def ksyscall_table(opts: Options) -> Table:
    """load() of an object reading LINUX_HAS_SYSCALL_WRAPPER vs libbpf's bpf_object__load."""
    n = 1 if opts.quick else 5
    log("objload: ksyscall_like (LINUX_HAS_SYSCALL_WRAPPER)")
    path = bpf_object(BENCH / "bpf" / "ksyscall_like.bpf.c", "ksyscall_like")
    exe = c_program("objload")
    run_child(python_worker("objload_pybpf", str(path)))  # per-boot answer, page cache
    py, c, cold = [], [], []
    for _ in range(n):
        py.append(run_child(python_worker("objload_pybpf", str(path), "--twice")).data)
        c.append(run_child([str(exe), str(path)]).data)
        env, cleanup = cold_core_cache()
        try:
            cold.append(run_child(python_worker("objload_pybpf", str(path)), env=env).data)
        finally:
            cleanup()
    p_ms = median([d["load_seconds"] for d in py]) * 1e3
    c_ms = median([d["load_seconds"] for d in c]) * 1e3
    p_cpu = median([d["load_cpu_seconds"] for d in py]) * 1e3
    c_cpu = median([d["load_cpu_seconds"] for d in c]) * 1e3
    w_cpu = median([d["warm_load_cpu_seconds"] for d in py]) * 1e3
    cold_cpu = median([d["load_cpu_seconds"] for d in cold]) * 1e3
    ratio = p_cpu / c_cpu
    table = Table(
        f"load() of an object with the LINUX_HAS_SYSCALL_WRAPPER extern (median of {n})",
        [
            "object",
            "pybpf load() CPU ms",
            "libbpf load CPU ms",
            "CPU ratio",
            "target",
            "verdict",
            "pybpf 2nd load() CPU ms",
            "2nd load ratio",
            "pybpf load() CPU ms, CO-RE cold",
            "CO-RE cold ratio",
            "pybpf load() ms",
            "libbpf bpf_object__load ms",
            "wall ratio",
        ],
    )
    table.rows.append(
        [
            "ksyscall_like",
            p_cpu,
            c_cpu,
            ratio,
            f"<= {KSYSCALL_TARGET:.1f}x",
            verdict(ratio <= KSYSCALL_TARGET),
            w_cpu,
            w_cpu / c_cpu,
            cold_cpu,
            cold_cpu / c_cpu,
            p_ms,
            c_ms,
            p_ms / c_ms,
        ]
    )
    table.notes.append(
        "pybpf answers the extern from kernel BTF or a kallsyms scan that stops at the first "
        "__<arch>_sys_ symbol, cached per boot. load() is the first of the process: it includes "
        "the loader's first-use imports and the kernel BTF (libbpf parses the kernel BTF in every "
        "bpf_object__load) unless this boot's CO-RE answers for the object are kept (every "
        "load after its first this boot; 'CO-RE cold' is that first load). 2nd load(): the "
        "same object opened and loaded again in that process. "
        "The verdict is on CPU time (user + system), as a shared machine inflates the wall clock."
    )
    return table


def ttfe_table(opts: Options) -> Table:
    """Process start to first ring-buffer record handled: bootstrap tool vs libbpf C."""
    n = 1 if opts.quick else 5
    log("objload: time to first event (bootstrap)")
    obj = ROOT / "src" / "pybpf" / "tools" / "objects" / "bootstrap.bpf.o"
    exe = c_program("bootstrap")
    run_child(python_worker("ttfe_pybpf"))  # warm caches
    py: list[tuple[float, float, float]] = []
    c: list[tuple[float, float, float]] = []
    for _ in range(n):
        for side, cmd in ((py, python_worker("ttfe_pybpf")), (c, [str(exe), str(obj)])):
            t0 = time.monotonic()
            child = run_child(cmd)
            d = child.data
            side.append(
                (
                    (d["first_event"] - t0) * 1e3,
                    (d["first_event"] - d["attached"]) * 1e3,
                    child.cpu * 1e3,
                )
            )
    p_ms, c_ms = median([x[0] for x in py]), median([x[0] for x in c])
    table = Table(
        f"Time to first event: process start to first ring-buffer record handled (median of {n})",
        [
            "tool",
            "pybpf ms",
            "pybpf attach->event ms",
            "reference",
            "ref ms",
            "ref attach->event ms",
            "ratio",
            "pybpf process CPU ms",
            "ref process CPU ms",
        ],
    )
    table.rows.append(
        [
            "bootstrap",
            p_ms,
            median([x[1] for x in py]),
            "libbpf C bootstrap",
            c_ms,
            median([x[1] for x in c]),
            p_ms / c_ms,
            median([x[2] for x in py]),
            median([x[2] for x in c]),
        ]
    )
    table.notes.append(
        "pybpf: the pybpf-bootstrap code path (skeleton, BTF-decoded event, same formatting); "
        "C: bench/c/bootstrap.c on libbpf. Both start /bin/true after attaching; the first "
        "exec or exit anywhere on the machine counts. Includes interpreter start for pybpf."
    )
    return table


MANY = 50


def many_table(opts: Options) -> Table:
    """Open+load+close of 50 different CO-RE objects in one process."""
    count = 3 if opts.quick else MANY
    n = 1 if opts.quick else 3
    log(f"objload: {count} different CO-RE objects in one process")
    objs = [
        str(bpf_object(BENCH / "bpf" / "many.bpf.c", f"many_{i}", {"VARIANT": i}))
        for i in range(count)
    ]
    exe = c_program("manyobj")
    run_child(python_worker("manyobj_pybpf", *objs))  # page cache
    py, c = [], []
    for _ in range(n):
        py.append(run_child(python_worker("manyobj_pybpf", *objs)))
        c.append(run_child([str(exe), *objs]))
    p_ms = median([x.data["seconds"] * 1e3 for x in py])
    c_ms = median([x.data["seconds"] * 1e3 for x in c])
    p_proc = median([x.wall * 1e3 for x in py])
    c_proc = median([x.wall * 1e3 for x in c])
    table = Table(
        f"Many objects: open+load+close of {count} different CO-RE objects in one process "
        f"(median of {n})",
        [
            "objects",
            "pybpf ms",
            "pybpf ms/object",
            "pybpf process ms",
            "libbpf C ms",
            "libbpf C ms/object",
            "libbpf C process ms",
            "ratio",
            "process ratio",
        ],
    )
    table.rows.append(
        [
            count,
            p_ms,
            p_ms / count,
            p_proc,
            c_ms,
            c_ms / count,
            c_proc,
            p_ms / c_ms,
            p_proc / c_proc,
        ]
    )
    table.notes.append(
        "in-process times exclude pybpf's import of the package (it is in the process time)"
    )
    return table

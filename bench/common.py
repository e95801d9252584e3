"""Shared machinery of the benchmarks: result tables, builds, worker processes, BCC.

Every measurement runs in a child process (a libbpf C program, a pybpf worker, a
BCC worker) that prints one JSON line; the driver times it, reads its peak RSS from
``wait4`` and turns the numbers into :class:`Table` rows with ratios and verdicts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = ROOT / "build" / "bench"
CLANG = "clang-19"
BCC_PYTHON = "/usr/bin/python3"  # Debian's python3-bpfcc lives in the system interpreter
BPF_CFLAGS = [
    "-g",
    "-O2",
    "-target",
    "bpf",
    "-D__TARGET_ARCH_x86",
    "-Wall",
    "-Werror",
    "-idirafter",
    "/usr/include/x86_64-linux-gnu",
]


class BenchError(Exception):
    """A benchmark could not run (a build failed, a worker died, a count was wrong)."""


@dataclass
class Table:
    """One printed table: a title, column names, rows of cells, and notes below it."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The table as JSON-ready data (numbers kept as numbers)."""
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": [dict(zip(self.columns, row, strict=True)) for row in self.rows],
            "notes": self.notes,
        }


@dataclass
class Options:
    """Run-wide settings: quick mode (tiny sizes, for the smoke test) and verbosity."""

    quick: bool = False
    verbose: bool = False
    bcc: bool = True


def log(msg: str) -> None:
    """Progress on stderr, so stdout stays the tables."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    """The median of a non-empty list."""
    return float(statistics.median(values))


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


# -- builds ---------------------------------------------------------------------------


def _run(cmd: list[str], what: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    if proc.returncode:
        raise BenchError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc


def vmlinux_h() -> Path:
    """vmlinux.h for the CO-RE programs, generated once by pybpf's own BTF dumper."""
    path = OUT / "vmlinux.h"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        log("generating vmlinux.h (pybpf btf dump)")
        proc = _run(
            [
                sys.executable,
                "-m",
                "pybpf",
                "btf",
                "dump",
                "/sys/kernel/btf/vmlinux",
                "--format",
                "c",
            ],
            "vmlinux.h generation",
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_text(proc.stdout)
        tmp.replace(path)
    return path


def _stale(out: Path, *inputs: Path) -> bool:
    return not out.exists() or any(p.stat().st_mtime > out.stat().st_mtime for p in inputs)


def bpf_object(src: Path, name: str, defines: dict[str, str | int | None] | None = None) -> Path:
    """Compile ``src`` (a libbpf-style BPF C file) into ``build/bench/<name>.bpf.o``."""
    out = OUT / f"{name}.bpf.o"
    hdr = vmlinux_h()
    deps = [src, *src.parent.glob("*.h")]
    if _stale(out, *deps):
        flags = [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in (defines or {}).items()]
        _run(
            [
                CLANG,
                *BPF_CFLAGS,
                *flags,
                f"-I{hdr.parent}",
                f"-I{src.parent}",
                "-c",
                str(src),
                "-o",
                str(out),
            ],
            f"clang {src.name}",
        )
    return out


def c_program(name: str) -> Path:
    """Build ``bench/c/<name>.c`` against Debian's libbpf (gcc, -lbpf -lelf -lz)."""
    src = BENCH / "c" / f"{name}.c"
    out = OUT / name
    if _stale(out, src, BENCH / "c" / "common.h"):
        OUT.mkdir(parents=True, exist_ok=True)
        if not shutil.which("gcc"):
            raise BenchError(
                "gcc is missing (apt-get install gcc libbpf-dev libelf-dev zlib1g-dev)"
            )
        _run(
            ["gcc", "-O2", "-Wall", "-o", str(out), str(src), "-lbpf", "-lelf", "-lz"],
            f"gcc {src.name}",
        )
    return out


# -- worker processes -----------------------------------------------------------------


@dataclass
class Child:
    """What a worker process printed and what it cost: wall time and peak RSS."""

    data: dict[str, Any]
    wall: float
    maxrss_kb: int
    cpu: float = 0.0  # user + system CPU seconds of the whole process (rusage)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of worker processes: bytecode caching on (as in a normal install),
    with the .pyc files kept under build/bench/pycache rather than in the tree."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
    if extra:
        env.update(extra)
    return env


def precompile() -> None:
    """Byte-compile pybpf and the workers once, so no sample pays for compilation."""
    OUT.mkdir(parents=True, exist_ok=True)
    targets = [str(ROOT / "src" / "pybpf"), str(BENCH / "workers")]
    _run([sys.executable, "-m", "compileall", "-q", *targets], "compileall", env=child_env())


def run_child(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> Child:
    """Run a worker, time it from spawn to exit, and parse its last stdout line as JSON.

    The child is reaped with ``wait4`` so its own peak RSS is known; its output goes
    through temporary files (no pipe to drain while waiting).
    """
    import tempfile

    full_env = child_env(env)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        pid = os.posix_spawnp(
            cmd[0],
            cmd,
            full_env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
            ],
        )
        watchdog = threading.Timer(timeout, os.kill, (pid, signal.SIGKILL))
        watchdog.start()
        try:
            _, status, usage = os.wait4(pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text, etext = out.read().decode(), err.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    what = " ".join(Path(c).name if "/" in c else c for c in cmd[:2])
    if code:
        raise BenchError(f"{what} exited {code}: {etext.strip()[-1500:]}")
    lines = [ln for ln in text.splitlines() if ln.strip().startswith("{")]
    if not lines:
        raise BenchError(f"{what} printed no result: {etext.strip()[-1500:]}")
    return Child(json.loads(lines[-1]), wall, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime)


def cold_core_cache() -> tuple[dict[str, str], Callable[[], None]]:
    """Worker environment for a load whose CO-RE answers are not cached yet (the first
    load of an object this boot): a copy of the cache directory without the per-boot
    CO-RE file, every other cache as warm as the user's. Returns (env, cleanup)."""
    import tempfile

    from pybpf._cachefile import cache_dir  # (the directory the workers' pybpf uses)

    tmp = Path(tempfile.mkdtemp(prefix="pybpf-bench-cache-"))
    os.chmod(tmp, 0o700)
    src = cache_dir()
    if src is not None and src.is_dir():
        for f in src.iterdir():
            if f.is_file() and not f.name.startswith("core-"):
                shutil.copy2(f, tmp / f.name)
    return {"PYBPF_CACHE_DIR": str(tmp)}, lambda: shutil.rmtree(tmp, ignore_errors=True)


def interpreter_start_ms(n: int = 5) -> float:
    """Median wall time of ``python -c pass`` here (site hooks included): the part of a
    pybpf process that is the interpreter's, for reading whole-process ratios."""
    return median([run_child([sys.executable, "-c", "print('{}')"]).wall * 1e3 for _ in range(n)])


def python_worker(name: str, *args: str) -> list[str]:
    """Command line of ``bench/workers/<name>.py`` under this interpreter."""
    return [sys.executable, str(BENCH / "workers" / f"{name}.py"), *args]


# -- BCC --------------------------------------------------------------------------------


@dataclass
class BCC:
    """Whether BCC can run here, and the environment its workers need."""

    ok: bool
    reason: str
    env: dict[str, str]


_BCC: BCC | None = None


def _apt_install(*pkgs: str) -> str | None:
    """Install Debian packages when root; None on success, else why not."""
    if os.geteuid() != 0:
        return f"not root: install {' '.join(pkgs)} with apt-get"
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    log(f"apt-get install {' '.join(pkgs)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    proc = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *pkgs],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode:
        return f"apt-get install {' '.join(pkgs)} failed: {proc.stderr.strip()[-300:]}"
    return None


def _debian_headers() -> tuple[Path, Path] | None:
    """The newest installed Debian kernel header pair (build dir, common dir)."""
    for build in sorted(Path("/usr/src").glob("linux-headers-*-amd64"), reverse=True):
        common = build.with_name(
            build.name.removesuffix("-amd64").removesuffix("-cloud") + "-common"
        )
        if (build / "include" / "generated").is_dir() and common.is_dir():
            return build, common
    return None


def _headers_candidate() -> str | None:
    """The newest linux-headers-*-amd64 package apt knows (for a custom kernel)."""
    proc = subprocess.run(
        ["apt-cache", "search", "--names-only", "^linux-headers-[0-9.]+-[0-9]+-amd64$"],
        capture_output=True,
        text=True,
        check=False,
    )
    names = sorted(line.split()[0] for line in proc.stdout.splitlines() if line.strip())
    return names[-1] if names else None


def bcc() -> BCC:
    """Find or set up BCC: python3-bpfcc plus kernel headers it can compile against.

    The running kernel's own headers are used when /lib/modules/$(uname -r)/build
    exists; otherwise Debian's newest linux-headers package is merged (build +
    common trees, as symlinks) under build/bench/kheaders and passed to BCC with
    BCC_KERNEL_SOURCE. The bench programs read no kernel structs, so a header
    version that differs from the kernel's changes nothing they compute.
    """
    global _BCC
    if _BCC is not None:
        return _BCC
    env: dict[str, str] = {}
    release = os.uname().release

    def probe() -> str | None:
        proc = subprocess.run(
            [BCC_PYTHON, "-c", "import bcc; bcc.BPF(text='int f(void *c) { return 0; }')"],
            capture_output=True,
            text=True,
            env=dict(os.environ, **env),
            check=False,
        )
        if proc.returncode == 0:
            return None
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return tail[-1] if tail else f"exit {proc.returncode}"

    reason: str | None = None
    if (
        not Path(BCC_PYTHON).exists()
        or subprocess.run(
            [BCC_PYTHON, "-c", "import bcc"], capture_output=True, check=False
        ).returncode
    ):
        reason = _apt_install("python3-bpfcc")
    if reason is None and not Path(f"/lib/modules/{release}/build").exists():
        pair = _debian_headers()
        if pair is None:
            pkg = _headers_candidate()
            if pkg is None:
                reason = f"no kernel headers for {release} and apt offers none"
            else:
                reason = _apt_install(pkg)
                pair = _debian_headers()
        if reason is None and pair is not None:
            merged = OUT / "kheaders" / pair[0].name
            if not (merged / "include" / "linux" / "kconfig.h").exists():
                log(f"merging {pair[1].name} + {pair[0].name} for BCC")
                tmp = merged.with_name(merged.name + ".tmp")
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir(parents=True)
                for src in (pair[1], pair[0]):
                    _run(
                        ["cp", "-rs", "--remove-destination", f"{src}/.", f"{tmp}/"], "header merge"
                    )
                shutil.rmtree(merged, ignore_errors=True)
                tmp.rename(merged)
            env["BCC_KERNEL_SOURCE"] = str(merged)
        elif reason is None:
            reason = "kernel headers could not be installed"
    if reason is None:
        reason = probe()
    if reason is None:
        hdrs = env.get("BCC_KERNEL_SOURCE", f"/lib/modules/{release}/build")
        _BCC = BCC(True, f"BCC (python3-bpfcc) with kernel headers {Path(hdrs).name}", env)
    else:
        _BCC = BCC(False, reason, env)
    return _BCC

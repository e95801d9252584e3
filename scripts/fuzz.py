"""Coverage-guided fuzzing of pybpf's readers with atheris (libFuzzer for Python).

Run through ``scripts/fuzz.sh [SECONDS]``. Targets and seeds live in
``tests/fuzz/fuzz_targets.py`` (object open, BTF, BTF.ext, disassembler, C dumper,
layouts). Every input may raise only ``pybpf.errors`` types, must finish within
``--slow`` seconds and keep peak RSS under ``--rss-mb``; an input that breaks a
rule is saved to ``--findings`` (``<rule>-<sha1>.bin`` plus a ``.txt`` with the
traceback) and the run goes on. Figures are written to ``--stats`` (JSON) every
few seconds: inputs, findings, slowest input, peak RSS.

Example::

    PYTHONPATH=src python3 scripts/fuzz.py --seconds 60 --work /tmp/fuzz
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

MAX_LEN = 1 << 15  # inputs larger than this are not generated (seeds above are skipped)


class _State:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.findings_dir = Path(args.findings)
        self.stats_path = Path(args.stats)
        self.inputs = 0
        self.untyped = 0
        self.slow = 0
        self.rss_over = 0
        self.slowest = 0.0
        self.slowest_wall = 0.0
        self.slowest_target = ""
        self.slowest_file = ""
        self.per_target: dict[str, int] = {}
        self.started = time.time()
        self.last_write = 0.0
        self.seen: set[str] = set()

    def peak_rss_mib(self) -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def save(self, rule: str, data: bytes, text: str) -> str:
        digest = hashlib.sha1(data).hexdigest()[:16]
        name = f"{rule}-{digest}"
        if name not in self.seen:
            self.seen.add(name)
            self.findings_dir.mkdir(parents=True, exist_ok=True)
            (self.findings_dir / f"{name}.bin").write_bytes(data)
            (self.findings_dir / f"{name}.txt").write_text(text)
            print(f"\n#### finding {name}: {text.splitlines()[-1] if text else ''}", flush=True)
        return name

    def write_stats(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self.last_write < 5:
            return
        self.last_write = now
        stats = {
            "inputs": self.inputs,
            "untyped_exceptions": self.untyped,
            "inputs_over_limit_s": self.slow,
            "rss_over_limit": self.rss_over,
            "slowest_input_s": round(self.slowest, 4),
            "slowest_input_wall_s": round(self.slowest_wall, 4),
            "slowest_target": self.slowest_target,
            "slowest_file": self.slowest_file,
            "peak_rss_mib": round(self.peak_rss_mib(), 1),
            "per_target": self.per_target,
            "elapsed_s": round(now - self.started, 1),
            "limits": {"slow_s": self.args.slow, "rss_mib": self.args.rss_mb},
        }
        tmp = self.stats_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats, indent=2) + "\n")
        tmp.replace(self.stats_path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--work", default="/tmp/pybpf-fuzz")
    ap.add_argument("--findings", default=None)
    ap.add_argument("--stats", default=None)
    ap.add_argument("--objects", default=str(ROOT / "build" / "bpf"))
    ap.add_argument("--slow", type=float, default=1.0, help="per-input CPU time limit (s)")
    ap.add_argument("--rss-mb", type=int, default=512, help="peak RSS limit (MiB)")
    ap.add_argument("--runs", type=int, default=-1, help="stop after this many inputs")
    args, extra = ap.parse_known_args()
    work = Path(args.work)
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    args.findings = args.findings or str(work / "findings")
    args.stats = args.stats or str(work / "stats.json")

    import atheris

    with atheris.instrument_imports(include=["pybpf"]):
        import pybpf
        import pybpf.asm.annotate
        import pybpf.asm.core_text
        import pybpf.asm.disasm
        import pybpf.btf.cdump
        import pybpf.btf.dump
        import pybpf.btf.ext
        import pybpf.btf.layout
        import pybpf.btf.reader
        import pybpf.elf.spec
        import pybpf.elf.summary
        import pybpf.object  # noqa: F401
    import fuzz_targets as ft

    # seeds: written once into the corpus directory libFuzzer grows
    nseeds = 0
    for name, data in ft.seed_inputs(Path(args.objects)):
        if len(data) > MAX_LEN:
            continue
        (corpus / f"seed-{name}").write_bytes(data)
        nseeds += 1
    print(f"fuzz: {nseeds} seeds in {corpus}", flush=True)

    st = _State(args)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))

    def one(data: bytes) -> None:
        target = ft.target_of(data)
        # CPU time, not wall time: the machine may be shared, and a busy neighbour
        # must not make an input look slow (wall time is kept for the report)
        t0, w0 = time.process_time(), time.perf_counter()
        try:
            ft.run_one(data)
        except ft.Finding:
            st.untyped += 1
            st.save("untyped", data, traceback.format_exc())
        dt = time.process_time() - t0
        st.slowest_wall = max(st.slowest_wall, time.perf_counter() - w0)
        st.inputs += 1
        st.per_target[target] = st.per_target.get(target, 0) + 1
        if dt > st.slowest:
            st.slowest, st.slowest_target = dt, target
            st.slowest_file = st.save("slowest", data, f"{target}: {dt:.3f} s") if dt > 0.2 else ""
        if dt > args.slow:
            st.slow += 1
            st.save("slow", data, f"{target}: {dt:.3f} s (limit {args.slow} s)")
        if st.peak_rss_mib() > args.rss_mb and st.rss_over == 0:
            st.rss_over += 1
            st.save("rss", data, f"{target}: peak RSS {st.peak_rss_mib():.0f} MiB")
        st.write_stats()
        if args.runs >= 0 and st.inputs >= args.runs:
            st.write_stats(force=True)
            os._exit(0)

    lf_args = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={args.seconds}",
        f"-max_len={MAX_LEN}",
        # libFuzzer's own limit is wall time, a backstop for hangs only: the 1 s rule
        # is checked above on CPU time (a loaded machine stretches wall time)
        "-timeout=600",
        "-report_slow_units=600",
        f"-artifact_prefix={work}/",
        "-rss_limit_mb=4096",
        "-print_final_stats=1",
        "-close_fd_mask=1",
        *extra,
    ]
    import atexit

    atexit.register(st.write_stats, True)
    atheris.Setup(lf_args, one)
    try:
        atheris.Fuzz()
    finally:
        st.write_stats(force=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

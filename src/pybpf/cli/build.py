"""``pybpf build SRC.bpf.c [-o OUT]``: compile a CO-RE BPF program with clang and the
right flags, with a ``vmlinux.h`` made by pybpf's own BTF dumper (cached per kernel)."""

from __future__ import annotations

import argparse
import hashlib
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pybpf.errors import BPFError, NotSupportedError

__all__ = ["COMPAT_HEADER", "clang_command", "include_dir", "register", "vmlinux_header"]

_ARCH = {
    "x86_64": "x86",
    "aarch64": "arm64",
    "s390x": "s390",
    "ppc64le": "powerpc",
    "riscv64": "riscv",
}
_MULTIARCH = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}


def register(subparsers: Any) -> None:
    """Add the ``build`` subcommand."""
    p = subparsers.add_parser("build", help="compile a .bpf.c into a CO-RE object with clang")
    p.add_argument("source", metavar="SRC.bpf.c")
    p.add_argument("-o", "--output", help="output object (default: SRC.bpf.o next to SRC)")
    p.add_argument("--btf", default="/sys/kernel/btf/vmlinux", help="BTF for vmlinux.h")
    p.add_argument("--clang", default=None, help="clang binary (default: clang-19 or clang)")
    p.add_argument("-I", dest="includes", action="append", default=[], help="include directory")
    p.add_argument("--no-strip", action="store_true", help="keep DWARF debug info")
    p.set_defaults(func=_run)
    inc = subparsers.add_parser(
        "include-dir",
        help="print the directory of pybpf's BPF-side headers (for -I; see pybpf.h)",
        description="Print the directory holding pybpf.h and pybpf/compat.h. Other build "
        'systems add: -I"$(pybpf include-dir)" -include pybpf/compat.h',
    )
    inc.set_defaults(func=_print_include_dir)


def _print_include_dir(args: argparse.Namespace) -> int:
    print(include_dir())
    return 0


_TMP_PREFIX = "pybpf-vmlinux-"
_STAMP = "/* pybpf vmlinux.h: btf sha256 {btf} content sha256 {body} */\n"


def _stamped(text: str, btf_digest: str) -> bytes:
    """The header with a first line binding it to its BTF and to its own content."""
    body = text.encode()
    stamp = _STAMP.format(btf=btf_digest, body=hashlib.sha256(body).hexdigest())
    return stamp.encode() + body


def _valid(data: bytes, btf_digest: str) -> bool:
    stamp, nl, body = data.partition(b"\n")
    want = _STAMP.format(btf=btf_digest, body=hashlib.sha256(body).hexdigest())
    return bool(nl) and stamp + nl == want.encode()


def vmlinux_header(btf_path: str) -> Path:
    """``vmlinux.h`` for the BTF at ``btf_path``, generated once per BTF content.

    It is cached in this user's pybpf cache directory (never another user's, whatever
    ``$HOME`` says) and used only when the file is this user's, not writable by others
    and its first line's checksums match its content and the BTF; otherwise it is made
    again, atomically. Without a usable cache directory it goes to a private temporary
    directory for this build.
    """
    from pybpf import _cachefile
    from pybpf.btf import BTF
    from pybpf.btf.cdump import dump_c

    data = Path(btf_path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    base = _cachefile.cache_dir()
    out = None
    if base is not None and _cachefile.safe_dir(base):
        out = base / "vmlinux" / digest[:16] / "vmlinux.h"
        cached = _cachefile.read(out)
        if cached is not None and _valid(bytes(cached), digest):
            return out
    content = _stamped(dump_c(BTF.from_bytes(data, name=btf_path)), digest)
    if out is not None and _cachefile.write(out, content):
        return out
    tmpdir = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))  # 0700, for this build only
    out = tmpdir / "vmlinux.h"
    out.write_bytes(content)
    return out


COMPAT_HEADER = "pybpf/compat.h"
"""Header ``pybpf build`` force-includes (``clang -include``), relative to :func:`include_dir`."""


def include_dir() -> Path:
    """Directory of pybpf's BPF-side headers (``#include <pybpf.h>``).

    Example: ``clang -I"$(pybpf include-dir)" -include pybpf/compat.h ...`` in a Makefile.
    """
    return Path(__file__).resolve().parent.parent / "include"


def _find_clang(explicit: str | None) -> str:
    for cand in [explicit] if explicit else ["clang-19", "clang"]:
        path = shutil.which(cand)
        if path:
            return path
    raise NotSupportedError(
        "building BPF objects needs clang (not found: install clang, e.g. apt install clang-19)"
    )


def clang_command(
    clang: str, src: Path, out: Path, hdr_dir: Path, includes: list[str]
) -> list[str]:
    """The clang command line that builds ``src`` as a CO-RE object."""
    machine = platform.machine()
    cmd = [clang, "-g", "-O2", "-target", "bpf", f"-D__TARGET_ARCH_{_ARCH.get(machine, machine)}"]
    cmd += ["-Wall", f"-I{hdr_dir}", f"-I{src.parent}", *(f"-I{i}" for i in includes)]
    # pybpf.h's directory, and its compat header read first: sources written against
    # newer libbpf headers (BPF_UPROBE, bpf_for, ...) build with older system headers.
    cmd += [f"-I{include_dir()}", "-include", COMPAT_HEADER]
    multi = _MULTIARCH.get(machine)
    if multi and Path("/usr/include", multi).is_dir():
        cmd += ["-idirafter", f"/usr/include/{multi}"]
    return [*cmd, "-c", str(src), "-o", str(out)]


def _run(args: argparse.Namespace) -> int:
    src = Path(args.source)
    if not src.is_file():
        raise BPFError(f"{src}: no such source file")
    name = src.name.removesuffix(".c").removesuffix(".bpf")
    out = Path(args.output) if args.output else src.with_name(f"{name}.bpf.o")
    clang = _find_clang(args.clang)
    hdr = vmlinux_header(args.btf)
    try:
        proc = subprocess.run(
            clang_command(clang, src, out, hdr.parent, args.includes),
            capture_output=True,
            text=True,
        )
    finally:
        if hdr.parent.name.startswith(_TMP_PREFIX):  # no usable cache: nothing left behind
            shutil.rmtree(hdr.parent, ignore_errors=True)
    if proc.stderr:
        print(proc.stderr, end="", file=sys.stderr)
    if proc.returncode != 0:
        raise BPFError(f"{src}: clang failed (exit {proc.returncode}); see its messages above")
    if not args.no_strip:
        strip = shutil.which("llvm-strip-19") or shutil.which("llvm-strip")
        if strip:
            subprocess.run([strip, "-g", str(out)], check=True)
    print(f"built {out}")
    return 0

"""Helpers for the C dump tests: build raw BTF from type dataclasses, split headers."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from pybpf.btf.encode import StringTable, encode_type
from pybpf.btf.types import Type

KFUNC_DEFINES_START = "#ifndef __ksym\n"
KFUNC_BLOCK_START = "\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n"


def raw_btf(types: list[Type], base_strings_len: int = 0) -> bytes:
    """A little-endian raw BTF blob holding ``types`` as ids 1..len(types).

    With ``base_strings_len`` it is split BTF whose strings follow a base's.
    """
    strings = StringTable(b"", base_strings_len) if base_strings_len else StringTable()
    words: list[int] = []
    for t in types:
        words += encode_type(t, strings)
    body = struct.pack(f"<{len(words)}I", *words)
    strs = bytes(strings.buf)
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(body), len(body), len(strs))
    return hdr + body + strs


def strip_kfunc_additions(text: str) -> tuple[str, str]:
    """Split a kfuncs=True header into (bpftool-7.1-equivalent text, kfunc block).

    Removes exactly the two things bpftool 7.5+ adds: the ``__ksym``/``__weak``/
    ``__bpf_fastcall`` fallback defines after the pragma block, and the kfunc
    prototype block before the closing pragma. Fails if either is not where
    bpftool puts it.
    """
    start = text.index(KFUNC_DEFINES_START)
    end = text.index("#endif\n#endif\n\n", start) + len("#endif\n#endif\n\n")
    assert text[start - len("#endif\n\n") : start] == "#endif\n\n", "defines misplaced"
    defines = text[start:end]
    assert defines.count("#ifndef") == 3, defines
    text = text[:start] + text[end:]
    k = text.index(KFUNC_BLOCK_START)
    e = text.index("#endif\n\n", k + len(KFUNC_BLOCK_START)) + len("#endif\n\n")
    assert text[e:].startswith("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop")
    return text[:k] + text[e:], text[k:e]


def syntax_check(clang: str, header: str, body: str, tmp: Path, *extra: str) -> str:
    """Compile ``#include "hdr.h"`` + ``body`` for BPF with -Wall -Werror; returns stderr."""
    (tmp / "hdr.h").write_text(header, errors="surrogateescape")
    src = tmp / "check.c"
    src.write_text('#include "hdr.h"\n' + body)
    proc = subprocess.run(
        [
            clang,
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-Wall",
            "-Werror",
            "-fsyntax-only",
            "-I",
            str(tmp),
            *extra,
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stderr

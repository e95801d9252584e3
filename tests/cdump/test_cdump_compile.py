"""The dumped header is real C: clang compiles it and every test program against it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from cdump_synth import syntax_check

from pybpf.btf import BTF, Func, FuncProto, Kind, Ptr, Struct
from pybpf.btf.cdump import kfunc_ids
from pybpf.btf.elfsec import btf_sections

ROOT = Path(__file__).resolve().parents[2]

USE_KFUNC = """
#include <bpf/bpf_helpers.h>
SEC("tp_btf/task_newtask")
int use_kfunc(unsigned long long *ctx)
{
	struct task_struct *t = bpf_task_acquire((struct task_struct *)ctx[0]);
	if (t)
		bpf_task_release(t);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


def test_vmlinux_header_compiles_and_links_kfuncs(
    vmlinux_header: str, clang: str, tmp_path: Path
) -> None:
    header = vmlinux_header
    (tmp_path / "vmlinux.h").write_text(header, errors="surrogateescape")
    src = tmp_path / "kf.bpf.c"
    src.write_text('#include "vmlinux.h"\n' + USE_KFUNC)
    obj = tmp_path / "kf.bpf.o"
    proc = subprocess.run(
        [
            clang,
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-Wall",
            "-Werror",
            "-D__TARGET_ARCH_x86",
            "-idirafter",
            "/usr/include/x86_64-linux-gnu",
            "-I",
            str(tmp_path),
            "-c",
            str(src),
            "-o",
            str(obj),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    # The header's prototypes alone make the kfunc calls into .ksyms externs.
    raw, _ = btf_sections(obj.read_bytes())
    assert raw is not None
    btf = BTF.from_bytes(raw)
    ksyms = btf.type(btf.find_one(".ksyms", Kind.DATASEC))
    names = {btf.type(v.type).name for v in ksyms.vars}  # type: ignore[union-attr]
    assert names == {"bpf_task_acquire", "bpf_task_release"}


def test_kfunc_prototypes_can_be_disabled(vmlinux_header: str, clang: str, tmp_path: Path) -> None:
    header = vmlinux_header
    # A conflicting declaration is fine once the header's prototypes are switched off.
    body = "extern int bpf_task_acquire(long x) __weak __ksym;\n"
    syntax_check(clang, header, body, tmp_path, "-DBPF_NO_KFUNC_PROTOTYPES")
    proc = subprocess.run(
        [clang, "-target", "bpf", "-fsyntax-only", "-I", str(tmp_path), str(tmp_path / "check.c")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "conflicting types" in proc.stderr


def test_kfunc_block_matches_btf(vmlinux_btf: BTF, vmlinux_header: str) -> None:
    btf, header = vmlinux_btf, vmlinux_header
    block = header[header.index("/* BPF kfuncs */") :].split("#endif\n", 1)[0]
    lines = [ln for ln in block.splitlines() if ln.startswith("extern ")]
    ids = kfunc_ids(btf)
    assert len(ids) > 50
    names = [btf.type(i).name for i in ids]
    assert len(lines) == len(names)
    for line, name in zip(lines, sorted(names), strict=True):
        assert re.search(rf"[ *]{name}\(", line), (name, line)
        assert line.endswith(") __weak __ksym;")
    # bpf_task_acquire: struct task_struct *(struct task_struct *p), per the kernel's BTF.
    fid = btf.find_one("bpf_task_acquire", Kind.FUNC)
    assert fid in ids
    func = btf.type(fid)
    assert isinstance(func, Func)
    proto = btf.type(func.type)
    assert isinstance(proto, FuncProto) and len(proto.params) == 1
    ret = btf.type(proto.return_type)
    assert isinstance(ret, Ptr) and btf.type(ret.type) == btf.type(
        btf.find_one("task_struct", Kind.STRUCT)
    )
    assert isinstance(btf.type(ret.type), Struct)
    pname = proto.params[0].name
    assert (
        f"extern struct task_struct *bpf_task_acquire(struct task_struct *{pname}) __weak __ksym;"
        in lines
    )


def test_all_test_programs_compile_against_fresh_header(tmp_path: Path) -> None:
    out = tmp_path / "bpf"
    gen = f"{sys.executable} -m pybpf btf dump /sys/kernel/btf/vmlinux --format c"
    proc = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(ROOT / "tests" / "bpf"),
            f"OUT={out}",
            f"VMLINUX_GEN={gen}",
            "-j4",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    header = (out / "vmlinux.h").read_text(errors="surrogateescape")
    assert "/* BPF kfuncs */" in header
    sources = sorted((ROOT / "tests" / "bpf").glob("*.bpf.c"))
    built = sorted(out.glob("*.bpf.o"))
    assert [p.name.removesuffix(".o") for p in built] == [
        p.name.removesuffix(".c") for p in sources
    ]

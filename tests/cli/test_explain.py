"""``pybpf explain`` and ``pybpf prog dump jited`` on real objects in the real kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf.elf.spec import ObjectSpec
from pybpf.kernel.jit import have_capstone

pytestmark = pytest.mark.usefixtures("kernel")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pybpf", *args], capture_output=True, text=True, timeout=300
    )


def _explain(path: Path, program: str) -> dict[str, Any]:
    proc = cli("explain", str(path), program, "--json")
    views = json.loads(proc.stdout)
    assert len(views) == 1, proc.stderr
    view: dict[str, Any] = views[0]
    assert proc.returncode == (0 if view["loaded"] else 1), proc.stderr
    return view


def _cells(view: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    return [c for g in view["groups"] for c in g[stage]]


def test_loaded_program_every_stage(bpf_obj: Any) -> None:
    path = bpf_obj("net_xdp")
    view = _explain(path, "nt_xdp_count")
    assert view["loaded"] and view["error"] is None
    spec = ObjectSpec.from_file(path).programs["nt_xdp_count"]
    elf = _cells(view, "elf")
    # column 1 is the object's code, every slot once, grouped under its source line
    assert len({c["index"] for c in elf}) == len(elf)
    assert sum(2 if c["text"].endswith(" ll") else 1 for c in elf) == spec.insn_count
    lines = {(g["file"], g["line"]): g["source"] for g in view["groups"]}
    assert any("bpf_map_lookup_elem(&xdp_config" in s for s in lines.values())
    assert any(c["note"] == "reloc map xdp_config" for c in elf)
    assert any(c["note"].startswith("CO-RE byte_off xdp_md.") for c in elf)
    # column 2: the map reference became a map fd, marked as changed
    rel = _cells(view, "relocated")
    ld = [c for c in rel if c["note"].startswith("map xdp_config fd ")]
    assert len(ld) == 1 and ld[0]["changed"] and ld[0]["text"].startswith("ld_pseudo r1, 0x1,")
    assert any("CO-RE byte_off xdp_md.data_end: off 4 -> 4" in c["note"] for c in rel)
    # column 3: the kernel's rewrite: a map id, ctx accesses converted, lookup inlined
    xl = _cells(view, "xlated")
    assert any(c["text"].startswith("r1 = map[id:") and c["changed"] for c in xl)
    assert any(c["text"] == "r3 = *(u64 *)(r1 + 0x8)" and c["changed"] for c in xl)
    assert len(xl) > len(rel)  # the array lookup is inlined into several instructions
    # column 4: machine code, grouped by line too
    if have_capstone():
        jit = _cells(view, "jited")
        assert jit and view["jit_note"] is None
        assert sum(1 for g in view["groups"] if g["jited"]) > 3
    else:
        assert "pybpf[jit]" in view["jit_note"]


def test_global_data_and_subprogram_calls(bpf_obj: Any) -> None:
    view = _explain(bpf_obj("globals"), "on_getpid")
    rel = _cells(view, "relocated")
    assert any(c["note"] == "call scale" and c["changed"] for c in rel)
    assert any(c["note"].startswith(".rodata+0x8 (map fd ") for c in rel)
    xl = _cells(view, "xlated")
    assert any(c["text"] == "call bpf_get_current_pid_tgid" for c in xl)
    assert any(c["text"].startswith("r1 = map[id:") and c["text"].endswith("[0]+8") for c in xl)


def test_rejected_program_names_the_instruction(bpf_obj: Any) -> None:
    path = bpf_obj("verifier_fail")
    view = _explain(path, "null_deref")
    assert not view["loaded"]
    assert view["error"] == "R0 invalid mem access 'map_value_or_null'"
    walk = _cells(view, "xlated")
    failing = [c for c in walk if c["index"] == view["error_insn"]]
    assert failing and failing[0]["note"].startswith("verifier: R0 invalid mem access")
    group = next(g for g in view["groups"] if failing[0] in g["xlated"])
    assert "MISSING NULL CHECK" in group["source"]
    assert all(not g["jited"] for g in view["groups"])
    text = cli("explain", str(path), "null_deref")
    assert text.returncode == 1
    assert "^^^ verifier: R0 invalid mem access 'map_value_or_null'" in text.stdout
    assert "; verifier_fail.bpf.c:18  return *value; /* MISSING NULL CHECK */" in text.stdout


def test_unknown_program(bpf_obj: Any) -> None:
    proc = cli("explain", str(bpf_obj("net_xdp")), "nope")
    assert proc.returncode != 0 and "no program 'nope'" in proc.stderr


def test_prog_dump_jited(bpf_obj: Any) -> None:
    with pybpf.load(bpf_obj("globals")) as obj:
        prog = obj.programs["on_getpid"]
        proc = cli("prog", "dump", "jited", str(prog.id), "--json")
        assert proc.returncode == 0, proc.stderr
        dump = json.loads(proc.stdout)
        assert bytes.fromhex(dump["hex"]) == prog.jited() and dump["bytes_jited"] > 0
        funcs = dump["functions"]
        assert funcs[0]["name"] == f"bpf_prog_{prog.tag}_on_getpid"
        assert any(f["name"].endswith("_scale") for f in funcs)  # the subprogram
        raw = b"".join(bytes.fromhex(i["raw"]) for f in funcs for i in f["insns"])
        assert raw == prog.jited()  # every byte of the kernel's image is disassembled
        ops = [i["operation"] for f in funcs for i in f["insns"]]
        assert any(o.endswith("<bpf_get_current_pid_tgid>") for o in ops)
        text = cli("prog", "dump", "jited", str(prog.id)).stdout
        assert text.startswith(f"bpf_prog_{prog.tag}_on_getpid:\n")


def test_externs_resolved_and_named(bpf_obj: Any) -> None:
    from pybpf.kernel.ksyms import read_kallsyms

    view = _explain(bpf_obj("ksyms"), "read_ksyms")
    elf, rel, xl = (_cells(view, s) for s in ("elf", "relocated", "xlated"))
    assert any(c["note"] == "reloc ksym schedule" for c in elf)
    addr = read_kallsyms().lookup("schedule")[0]
    ksym = next(c for c in rel if c["note"] == "ksym schedule")
    assert ksym["changed"] and ksym["text"] == f"r2 = {addr:#x} ll"
    kfunc = next(c for c in rel if c["note"].startswith("kfunc bpf_task_from_pid btf_id "))
    assert kfunc["changed"]
    assert any(c["text"] == "call bpf_task_from_pid" for c in xl)

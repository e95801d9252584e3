"""ObjectSpec against the C sources of the test objects and against llvm-readelf/bpftool."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from spec_readelf import SPEC_OBJECTS, readelf_sections, readelf_symbols

from pybpf import ObjectSpec
from pybpf.btf import BTF, Datasec, Struct
from pybpf.elf.externs import ExternKind
from pybpf.elf.maps import PIN_BY_NAME, MapKind
from pybpf.elf.relocs import RelocKind
from pybpf.errors import ObjectError
from pybpf.uapi.enums import AttachType, MapFlags, MapType, ProgType

Getter = Callable[[str], ObjectSpec]


@pytest.fixture(scope="module")
def spec(bpf_obj: Callable[[str], Path]) -> Getter:
    @cache
    def get(name: str) -> ObjectSpec:
        return ObjectSpec.from_file(bpf_obj(name))

    return get


def _data_section(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in (".data", ".rodata", ".bss"))


# ------------------------------------------------------------ differential: readelf


@pytest.mark.parametrize("name", SPEC_OBJECTS)
def test_sections_match_readelf(name: str, spec: Getter, bpf_obj: Callable[[str], Path]) -> None:
    s = spec(name)
    ref = readelf_sections(bpf_obj(name))
    got = [
        (x["index"], x["name"], x["type"], x["size"], x["flags"]) for x in s.summary()["sections"]
    ]
    want = [(r.index, r.name, r.type, r.size, r.flags) for r in ref]
    assert got == want


@pytest.mark.parametrize("name", SPEC_OBJECTS)
def test_functions_match_readelf(name: str, spec: Getter, bpf_obj: Callable[[str], Path]) -> None:
    s = spec(name)
    secs = {r.index: r for r in readelf_sections(bpf_obj(name))}
    funcs = [y for y in readelf_symbols(bpf_obj(name)) if y.type == "FUNC"]
    assert funcs, "every test object has functions"
    assert len(s.programs) + len(s.subprograms) == len(funcs)
    for y in funcs:
        sec = secs[int(y.ndx)]
        p = s.function(y.name)
        assert (p.section, p.offset, len(p.insns)) == (sec.name, y.value, y.size)
        assert p.is_subprog == (sec.name == ".text")
        assert p.is_global == (y.bind in ("GLOBAL", "WEAK"))
        assert (y.name in s.subprograms) == p.is_subprog
        assert p.insn_count * 8 == y.size


@pytest.mark.parametrize("name", SPEC_OBJECTS)
def test_variables_match_readelf(name: str, spec: Getter, bpf_obj: Callable[[str], Path]) -> None:
    s = spec(name)
    secs = {r.index: r for r in readelf_sections(bpf_obj(name))}
    objs = [
        y
        for y in readelf_symbols(bpf_obj(name))
        if y.type == "OBJECT" and y.ndx.isdigit() and _data_section(secs[int(y.ndx)].name)
    ]
    assert {y.name for y in objs} == set(s.variables)
    for y in objs:
        v = s.variables[y.name]
        assert (v.section, v.offset, v.size) == (secs[int(y.ndx)].name, y.value, y.size)
        assert v.is_const == v.section.startswith(".rodata")
        assert v.is_global == (y.bind == "GLOBAL" and y.vis == "DEFAULT")


@pytest.mark.parametrize("name", SPEC_OBJECTS)
def test_data_maps_hold_section_bytes(name: str, spec: Getter) -> None:
    s = spec(name)
    elf = s.elf
    data_secs = [x for x in elf.sections if _data_section(x.name) and x.size]
    got = {
        m.name: m for m in s.maps.values() if m.kind in (MapKind.DATA, MapKind.RODATA, MapKind.BSS)
    }
    assert set(got) == {x.name for x in data_secs}
    for x in data_secs:
        m = got[x.name]
        assert (m.type, m.key_size, m.value_size, m.max_entries) == (MapType.ARRAY, 4, x.size, 1)
        assert m.data == (b"" if x.name.startswith(".bss") else x.data)
        assert bool(m.flags & MapFlags.RDONLY_PROG) == x.name.startswith(".rodata")


def _linked_btf(path: Path, tmp: Path) -> BTF:
    """BTF of the object after bpftool's static linker (which fills DATASEC sizes/offsets)."""
    bpftool = shutil.which("bpftool")
    if bpftool is None:
        pytest.fail("bpftool is needed as the reference for this test")
    out = tmp / (path.stem + ".linked.o")
    subprocess.run([bpftool, "gen", "object", str(out), str(path)], check=True, capture_output=True)
    sec = ObjectSpec.from_file(out).elf.section(".BTF")
    assert sec is not None
    return BTF.from_bytes(sec.data)


@pytest.mark.parametrize("name", ["globals", "maps", "insn_v4", "tailcall", "spec_multi", "core"])
def test_datasec_fixup_matches_bpftool_linker(
    name: str, spec: Getter, bpf_obj: Callable[[str], Path], tmp_path: Path
) -> None:
    s = spec(name)
    assert s.btf is not None
    linked = _linked_btf(bpf_obj(name), tmp_path)

    def layout(btf: BTF) -> dict[str, tuple[int, list[tuple[str, int, int]]]]:
        out = {}
        for _, t in btf:
            if isinstance(t, Datasec) and t.name not in (".kconfig", ".ksyms"):
                out[t.name] = (t.size, [(btf.name_of(v.type), v.offset, v.size) for v in t.vars])
        return out

    mine, ref = layout(s.btf), layout(linked)
    assert mine and mine == ref
    raw = s.elf.section(".BTF")
    assert raw is not None
    stored = BTF.from_bytes(raw.data)
    assert all(t.size == 0 for _, t in stored if isinstance(t, Datasec)), "clang leaves sizes 0"


# ------------------------------------------------------------ legacy objects (seed 000)


def _version_code() -> int:
    text = Path("/usr/include/linux/version.h").read_text()
    m = re.search(r"#define LINUX_VERSION_CODE (\d+)", text)
    assert m
    return int(m.group(1))


def test_legacy_tracex(spec: Getter) -> None:
    s = spec("legacy_tracex")
    assert s.license == "GPL"
    assert s.kern_version == _version_code()
    assert s.btf is None and s.btf_ext is None
    assert list(s.maps) == ["getpid_count", "my_hist_map", "events"]  # offset (map_fd[]) order
    gc, hist, ev = (s.maps[n] for n in s.maps)
    assert (gc.type, gc.key_size, gc.value_size, gc.max_entries) == (MapType.HASH, 4, 8, 1024)
    # struct hist_key { u32 index; u64 pid_tgid; u64 uid_gid; char comm[16]; } = 40 bytes
    assert (hist.type, hist.key_size, hist.value_size, hist.max_entries) == (
        MapType.PERCPU_HASH, 40, 8, 1024)  # fmt: skip
    assert (ev.type, ev.key_size, ev.value_size, ev.max_entries) == (
        MapType.PERF_EVENT_ARRAY, 4, 4, 64)  # fmt: skip
    assert all(m.legacy and m.section == "maps" and m.kind is MapKind.USER for m in s.maps.values())
    assert [m.offset for m in s.maps.values()] == [0, 28, 56]

    tp = s.programs["count_getpid"]
    assert (tp.prog_type, tp.attach_target) == (ProgType.TRACEPOINT, "syscalls/sys_enter_getpid")
    maps_used = [(r.kind, r.target) for r in tp.relocations]
    assert maps_used == [(RelocKind.MAP, "getpid_count")] * 2 + [(RelocKind.MAP, "events")]
    kp = s.programs["bpf_prog3"]
    assert (kp.prog_type, kp.attach_target, kp.sec and kp.sec.retprobe) == (
        ProgType.KPROBE, "ksys_write", False)  # fmt: skip
    assert {r.target for r in kp.relocations} == {"my_hist_map"}
    sock = s.programs["bpf_prog1"]
    assert sock.prog_type == ProgType.SOCKET_FILTER and sock.sec is not None and sock.sec.legacy
    assert not s.subprograms  # log2/log2l are always_inline-d static functions
    assert not s.variables and not s.externs


def test_legacy_hello(spec: Getter) -> None:
    s = spec("legacy_hello")
    assert s.license == "GPL" and s.kern_version is None
    p = s.programs["bpf_prog"]
    assert p.prog_type == ProgType.TRACEPOINT
    assert p.attach_target == "syscalls/sys_enter_execve"
    assert p.sec is not None and p.sec.auto_attach


def test_legacy_smaller_map_def_is_zero_extended(spec: Getter) -> None:
    s = spec("legacy_spec_small")
    a, b = s.maps["small_a"], s.maps["small_b"]
    assert (a.type, a.key_size, a.value_size, a.max_entries, a.flags) == (MapType.ARRAY, 4, 8, 2, 0)
    assert (b.type, b.key_size, b.value_size, b.max_entries) == (MapType.HASH, 8, 16, 32)
    assert b.flags == MapFlags.NO_PREALLOC
    assert (a.numa_node, a.inner_map_idx, b.offset) == (0, 0, 20)  # five u32 per definition
    assert s.programs["read_small"].prog_type == ProgType.SOCKET_FILTER


def test_legacy_larger_map_def_accepted_when_zero(spec: Getter) -> None:
    s = spec("legacy_spec_large")
    inner, outer = s.maps["large_inner"], s.maps["large_outer"]
    assert outer.offset == 40  # ten u32 per definition (36 bytes is iproute2's bpf_elf_map)
    assert outer.type == MapType.ARRAY_OF_MAPS and outer.inner_map_idx == 0
    assert outer.inner == inner
    assert s.programs["read_large"].prog_type == ProgType.XDP


def _patch_section(data: bytes, spec: ObjectSpec, section: str, offset: int, raw: bytes) -> bytes:
    sec = spec.elf.section(section)
    assert sec is not None
    buf = bytearray(data)
    buf[sec.offset + offset : sec.offset + offset + len(raw)] = raw
    return bytes(buf)


def test_legacy_larger_map_def_with_unknown_field_is_an_error(
    spec: Getter, bpf_obj: Callable[[str], Path]
) -> None:
    s = spec("legacy_spec_large")
    data = bpf_obj("legacy_spec_large").read_bytes()
    bad = _patch_section(data, s, "maps", 40 + 32, struct.pack("<I", 7))  # large_outer.future_b
    with pytest.raises(ObjectError) as exc:
        ObjectSpec.from_bytes(bad, file="large.o")
    err = exc.value
    assert "large_outer" in str(err) and "bpf_map_def" in str(err)
    assert (err.file, err.section, err.offset) == ("large.o", "maps", 40 + 32)


def test_bad_version_section(spec: Getter, bpf_obj: Callable[[str], Path]) -> None:
    s = spec("legacy_tracex")
    data = bytearray(bpf_obj("legacy_tracex").read_bytes())
    sec = s.elf.section("version")
    assert sec is not None
    # shrink the version section's sh_size (section header at e_shoff + 64 * index, field +32)
    shoff = struct.unpack_from("<Q", data, 40)[0]
    struct.pack_into("<Q", data, shoff + 64 * sec.index + 32, 2)
    with pytest.raises(ObjectError, match="version section"):
        ObjectSpec.from_bytes(bytes(data))


# ------------------------------------------------------------ libbpf-style objects


def test_globals(spec: Getter) -> None:
    s = spec("globals")
    assert s.license == "Dual BSD/GPL" and s.kern_version is None
    assert set(s.programs) == {"compute", "on_getpid"}
    assert {"scale", "global_add_one", "loop_cb", "sum_cb"} <= set(s.subprograms)
    compute, on_getpid = s.programs["compute"], s.programs["on_getpid"]
    assert compute.prog_type == ProgType.SYSCALL and compute.sleepable
    assert on_getpid.prog_type == ProgType.TRACEPOINT
    assert on_getpid.attach_target == "syscalls/sys_enter_getpid"
    assert s.subprograms["global_add_one"].is_global and not s.subprograms["scale"].is_global

    def text_index(name: str) -> int:
        return s.subprograms[name].insn_offset

    by_kind: dict[RelocKind, list[tuple[str, str, int]]] = {}
    for r in compute.relocations:
        by_kind.setdefault(r.kind, []).append((r.target, r.function or "", r.offset))
        assert compute.insns[r.insn_index * 8] in (0x18, 0x85)
    assert (".text", "scale", text_index("scale")) in by_kind[RelocKind.CALL]
    assert (".text", "global_add_one", text_index("global_add_one")) in by_kind[RelocKind.CALL]
    assert sorted(by_kind[RelocKind.FUNC]) == sorted(
        [(".text", "loop_cb", text_index("loop_cb")), (".text", "sum_cb", text_index("sum_cb"))]
    )
    assert by_kind[RelocKind.MAP] == [("counts", "", 0)]
    v = s.variables
    assert (".bss", "", v["bss_counter"].offset) in by_kind[RelocKind.DATA]
    assert (".data", "", v["data_counter"].offset) in by_kind[RelocKind.DATA]
    assert (".bss", "", v["map_total"].offset) in by_kind[RelocKind.DATA]
    scale = s.subprograms["scale"]
    assert {(r.kind, r.target, r.offset) for r in scale.relocations} == {
        (RelocKind.DATA, ".rodata", v["multiplier"].offset),
        (RelocKind.DATA, ".rodata.cfg", v["rodata_cfg"].offset),
    }
    got_maps = {r.target for r in on_getpid.relocations if r.kind is RelocKind.MAP}
    assert got_maps == {"counts", "rb"}

    counts, rb = s.maps["counts"], s.maps["rb"]
    assert (counts.type, counts.key_size, counts.value_size, counts.max_entries) == (
        MapType.HASH, 4, 8, 128)  # fmt: skip
    assert (s.type_name(counts.key_type_id), s.type_name(counts.value_type_id)) == ("u32", "u64")
    assert (rb.type, rb.max_entries, rb.key_type_id, rb.value_type_id) == (
        MapType.RINGBUF, 4096, 0, 0)  # fmt: skip
    assert not counts.legacy and counts.section == ".maps"

    assert struct.unpack("<Q", s.maps[".data"].data[v["data_counter"].offset :][:8])[0] == 7
    ro = s.maps[".rodata"].data
    assert struct.unpack("<Q", ro[v["multiplier"].offset :][:8])[0] == 1
    assert struct.unpack("<I", ro[v["target_pid"].offset :][:4])[0] == 0
    assert s.maps[".data.custom"].data.startswith(b"hello\0")
    assert struct.unpack("<I", s.maps[".rodata.cfg"].data)[0] == 3
    assert s.maps[".bss"].kind is MapKind.BSS and not any(s.maps[".bss"].data)
    assert s.maps[".rodata"].flags & MapFlags.MMAPABLE
    assert s.type_name(v["greeting"].type_id) == "char[16]"
    assert v["multiplier"].is_const and v["multiplier"].is_global

    # .BTF.ext records are per function, rebased to the function start
    assert compute.func_info and compute.func_info[0].insn_off == 0
    assert s.btf is not None and s.btf.name_of(compute.func_btf_id) == "compute"
    for p in (*s.programs.values(), *s.subprograms.values()):
        assert p.func_info[0].insn_off == 0
        assert s.btf.name_of(p.func_btf_id) == p.name
        assert all(0 <= li.insn_off < len(p.insns) for li in p.line_info)
        assert p.line_info and p.line_info[0].file_name.endswith("globals.bpf.c")


def test_maps_object(spec: Getter) -> None:
    s = spec("maps")
    m = s.maps
    simple = {
        "m_hash": MapType.HASH, "m_array": MapType.ARRAY, "m_percpu_hash": MapType.PERCPU_HASH,
        "m_percpu_array": MapType.PERCPU_ARRAY, "m_lru_hash": MapType.LRU_HASH,
        "m_lru_percpu_hash": MapType.LRU_PERCPU_HASH, "m_devmap": MapType.DEVMAP,
        "m_sockmap": MapType.SOCKMAP, "m_cpumap": MapType.CPUMAP, "m_xskmap": MapType.XSKMAP,
        "m_reuseport": MapType.REUSEPORT_SOCKARRAY,
    }  # fmt: skip
    for name, mtype in simple.items():
        assert m[name].type == mtype and m[name].key_size == 4, name
    assert (m["m_hash"].value_size, m["m_hash"].max_entries) == (8, 16)
    assert m["m_percpu_array"].max_entries == 4
    assert m["m_cpumap"].value_size == s.btf.size_of(s.btf.find_one("bpf_cpumap_val"))  # type: ignore[union-attr]
    lpm = m["m_lpm"]
    assert (lpm.type, lpm.key_size, lpm.value_size, lpm.max_entries) == (MapType.LPM_TRIE, 8, 4, 64)
    assert lpm.flags == MapFlags.NO_PREALLOC and s.type_name(lpm.key_type_id) == "struct lpm_key"
    st = m["m_stack_trace"]
    assert (st.type, st.key_size, st.value_size, st.max_entries) == (
        MapType.STACK_TRACE,
        4,
        127 * 8,
        16,
    )
    assert (st.key_type_id, st.value_type_id) == (0, 0)
    assert (m["m_queue"].key_size, m["m_queue"].value_size, m["m_queue"].max_entries) == (0, 4, 8)
    assert (m["m_bloom"].type, m["m_bloom"].map_extra) == (MapType.BLOOM_FILTER, 3)
    assert m["m_user_ringbuf"].type == MapType.USER_RINGBUF
    assert (m["m_perf"].type, m["m_perf"].max_entries) == (MapType.PERF_EVENT_ARRAY, 0)
    for name, mtype in (("m_sk_storage", MapType.SK_STORAGE), ("m_task_storage", MapType.TASK_STORAGE),
                        ("m_inode_storage", MapType.INODE_STORAGE),
                        ("m_cgrp_storage", MapType.CGRP_STORAGE)):  # fmt: skip
        assert (m[name].type, m[name].flags, m[name].key_size, m[name].value_size) == (
            mtype, MapFlags.NO_PREALLOC, 4, 8)  # fmt: skip
    assert (m["m_arena"].type, m["m_arena"].flags, m["m_arena"].max_entries) == (
        MapType.ARENA, MapFlags.MMAPABLE, 2)  # fmt: skip

    aom = m["m_array_of_maps"]
    assert (aom.type, aom.key_size, aom.value_size, aom.max_entries) == (
        MapType.ARRAY_OF_MAPS, 4, 4, 4)  # fmt: skip
    assert aom.values == ((0, "inner_a"), (3, "inner_b"))
    assert aom.inner is not None
    inner = aom.inner
    assert (inner.name, inner.type, inner.key_size, inner.value_size, inner.max_entries) == (
        "m_array_of_maps.inner", MapType.ARRAY, 4, 8, 1)  # fmt: skip
    hom = m["m_hash_of_maps"]
    assert hom.type == MapType.HASH_OF_MAPS and hom.values == () and hom.inner is not None
    assert m["m_pinned"].pinning == PIN_BY_NAME
    assert all(x.pinning == 0 for n, x in m.items() if n != "m_pinned")
    assert {r.target for r in s.programs["read_inner"].relocations} == {"m_array_of_maps"}


def test_tailcall_prog_array_values(spec: Getter) -> None:
    s = spec("tailcall")
    jt = s.maps["jmp_table"]
    assert (jt.type, jt.key_size, jt.value_size, jt.max_entries) == (MapType.PROG_ARRAY, 4, 4, 4)
    assert jt.values == ((1, "tail_one"), (2, "tail_two"))
    assert jt.inner is None
    assert [p.name for p in s.programs.values()] == ["tail_one", "tail_two", "entry"]
    assert all(p.section == "tc" and p.prog_type == ProgType.SCHED_CLS for p in s.programs.values())
    assert [p.offset for p in s.programs.values()][:2] == [0, 16]  # two programs share "tc"


def test_core_externs_and_relocations(spec: Getter) -> None:
    s = spec("core")
    ext = s.externs
    names = {"LINUX_KERNEL_VERSION", "LINUX_HAS_BPF_COOKIE", "LINUX_HAS_SYSCALL_WRAPPER",
             "CONFIG_HZ", "CONFIG_NR_CPUS", "CONFIG_BPF_JIT", "CONFIG_BPF_SYSCALL",
             "CONFIG_DEFAULT_HOSTNAME", "CONFIG_PYBPF_NOT_A_REAL_OPTION"}  # fmt: skip
    assert set(ext) == names
    assert all(e.kind is ExternKind.KCONFIG and not e.is_func for e in ext.values())
    assert [n for n, e in ext.items() if e.is_weak] == ["CONFIG_PYBPF_NOT_A_REAL_OPTION"]
    sizes = {n: e.size for n, e in ext.items()}
    assert sizes["CONFIG_DEFAULT_HOSTNAME"] == 16 and sizes["CONFIG_BPF_JIT"] == 1
    assert sizes["CONFIG_HZ"] == 4 and sizes["CONFIG_BPF_SYSCALL"] == 4
    # libbpf layout: alignment descending, then size, then name; no overlaps
    order = sorted(ext.values(), key=lambda e: (-e.align, e.size, e.name))
    off = 0
    for e in order:
        off = -(-off // e.align) * e.align
        assert e.offset == off, e.name
        off += e.size
    kc = s.maps[".kconfig"]
    assert (kc.kind, kc.value_size, kc.max_entries) == (MapKind.KCONFIG, off, 1)
    assert kc.flags & MapFlags.RDONLY_PROG
    assert s.btf is not None
    ds = s.btf.type(kc.value_type_id)
    assert isinstance(ds, Datasec) and ds.size == off
    assert sorted(v.offset for v in ds.vars) == [v.offset for v in ds.vars]
    used = {r.target for r in s.programs["read_task"].relocations if r.kind is RelocKind.KCONFIG}
    assert used == names
    # every CO-RE relocation belongs to the one program, at an instruction inside it
    prog = s.programs["read_task"]
    assert s.core_relo_count == len(prog.core_relos) >= 20
    assert all(0 <= r.insn_off < len(prog.insns) for r in prog.core_relos)
    assert spec("core_fail").core_relo_count >= 1


def test_struct_ops(spec: Getter) -> None:
    s = spec("spec_struct_ops")
    link, plain = s.maps["spec_cc"], s.maps["spec_cc_plain"]
    for m in (link, plain):
        assert m.type == MapType.STRUCT_OPS and m.kind is MapKind.STRUCT_OPS
        assert m.struct_ops_type == "tcp_congestion_ops"
        assert s.btf is not None
        st = s.btf.type(m.value_type_id)
        assert isinstance(st, Struct) and st.name == "tcp_congestion_ops"
        assert (m.key_size, m.value_size, m.max_entries) == (4, st.size, 1)
        name_off = next(x.bit_offset // 8 for x in st.members if x.name == "name")
        assert m.data[name_off:].split(b"\0")[0] in (b"pybpf_spec_cc", b"pybpf_spec_cc2")
    assert link.section == ".struct_ops.link" and link.flags == MapFlags.LINK
    assert plain.section == ".struct_ops" and plain.flags == 0
    assert dict(link.func_members) == {"ssthresh": "spec_ssthresh", "cong_avoid": "spec_cong_avoid",
                                       "undo_cwnd": "spec_undo_cwnd"}  # fmt: skip
    assert dict(plain.func_members) == {"ssthresh": "spec_ssthresh", "undo_cwnd": "spec_undo_cwnd"}
    for p in s.programs.values():
        assert p.prog_type == ProgType.STRUCT_OPS and p.attach_target == p.name


def test_several_programs_per_section_and_calls(spec: Getter) -> None:
    s = spec("spec_multi")
    xdp = [p for p in s.programs.values() if p.section == "xdp"]
    assert [p.name for p in xdp] == ["xdp_first", "xdp_second", "xdp_static"]
    assert [p.is_global for p in xdp] == [True, True, False]
    assert xdp[1].offset == len(xdp[0].insns)
    assert (
        s.programs["xdp_frags_prog"].sec is not None and s.programs["xdp_frags_prog"].sec.xdp_frags
    )
    expect = {
        "tc_in": (ProgType.SCHED_CLS, AttachType.TCX_INGRESS, None),
        "tcx_out": (ProgType.SCHED_CLS, AttachType.TCX_EGRESS, None),
        "cg_in": (ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, None),
        "cg_connect4": (ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT, None),
        "msg_verdict": (ProgType.SK_MSG, AttachType.SK_MSG_VERDICT, None),
        "skb_verdict": (ProgType.SK_SKB, AttachType.SK_SKB_STREAM_VERDICT, None),
        "raw_enter": (ProgType.RAW_TRACEPOINT, None, "sys_enter"),
        "btf_switch": (ProgType.TRACING, AttachType.TRACE_RAW_TP, "sched_switch"),
        "fentry_unlink": (ProgType.TRACING, AttachType.TRACE_FENTRY, "do_unlinkat"),
        "lsm_open": (ProgType.LSM, AttachType.LSM_MAC, "file_open"),
        "iter_task": (ProgType.TRACING, AttachType.TRACE_ITER, "task"),
        "up": (ProgType.KPROBE, None, "/proc/self/exe:spec_uprobe_target+8"),
        "uret": (ProgType.KPROBE, None, "libc.so.6:malloc"),
        "usdt_prog": (ProgType.KPROBE, None, "libc.so.6:libc:setjmp"),
        "kret": (ProgType.KPROBE, None, "do_unlinkat"),
        "ksys": (ProgType.KPROBE, None, "getpid"),
        "kmulti": (ProgType.KPROBE, AttachType.TRACE_KPROBE_MULTI, "do_unlink*"),
        "on_perf": (ProgType.PERF_EVENT, None, None),
        "sock_filter": (ProgType.SOCKET_FILTER, None, None),
    }
    for name, want in expect.items():
        p = s.programs[name]
        assert (p.prog_type, p.expected_attach_type, p.attach_target) == want, name
    assert s.programs["lsm_open"].sleepable and s.programs["uret"].sleepable
    assert not s.programs["up"].sleepable

    sub = s.subprograms

    def call(prog: str) -> list[tuple[RelocKind, str, str | None, int]]:
        return [(r.kind, r.symbol, r.function, r.offset) for r in s.function(prog).relocations]

    # static -> static inside .text: no ELF relocation, recorded with an empty symbol
    assert call("outer") == [(RelocKind.CALL, "", "inner", sub["inner"].insn_offset)]
    assert call("global_sub") == [(RelocKind.CALL, "", "outer", sub["outer"].insn_offset)]
    assert call("xdp_second") == [(RelocKind.CALL, ".text", "outer", sub["outer"].insn_offset)]
    assert call("tc_in") == [(RelocKind.CALL, "global_sub", "global_sub", 0)]
    raw = call("raw_enter")
    assert (RelocKind.FUNC, ".text", "count_cb", sub["count_cb"].insn_offset) in raw
    assert s.function_at(sub["inner"].section_index, sub["inner"].insn_offset) == sub["inner"]


def test_ksyms_externs(spec: Getter, bpf_objects: Path) -> None:
    path = bpf_objects / "ksyms.bpf.o"
    assert path.exists(), "ksyms test object not built"
    s = ObjectSpec.from_file(path)
    funcs = {n for n, e in s.externs.items() if e.is_func}
    assert funcs and all(s.externs[n].kind is ExternKind.KSYM for n in funcs)
    kinds = {r.kind for p in s.programs.values() for r in p.relocations}
    assert RelocKind.KFUNC in kinds and RelocKind.KSYM in kinds
    assert s.btf is not None
    ds = next(t for _, t in s.btf if isinstance(t, Datasec) and t.name == ".ksyms")
    assert ds.size == 4 * len(ds.vars) == 4 * len(s.externs)
    assert [v.offset for v in ds.vars] == list(range(0, ds.size, 4))


def test_object_name_and_determinism(spec: Getter, bpf_obj: Callable[[str], Path]) -> None:
    a = spec("globals")
    b = ObjectSpec.from_bytes(bpf_obj("globals").read_bytes())
    assert a.name == "globals" and b.name == "obj" and b.file is None
    assert a.summary() | {"file": None, "name": "obj"} == b.summary()
    assert ObjectSpec.from_bytes(bpf_obj("globals").read_bytes(), name="x").name == "x"


def test_object_and_spec_share_one_name_rule(
    bpf_obj: Callable[[str], Path], tmp_path: Path
) -> None:
    """libbpf's rule (basename up to the first dot) names both the spec and the Object,
    for files with more dots than ``.bpf.o`` and for objects read from memory."""
    import pybpf

    dotted = tmp_path / "globals.v2.bpf.o"
    shutil.copyfile(bpf_obj("globals"), dotted)
    for src in (dotted, dotted.read_bytes()):
        with pybpf.open(src) as obj:
            assert obj.name == obj.spec.name == ("globals" if src is dotted else "obj")
    with pybpf.open(dotted, name="mine") as obj:
        assert obj.name == "mine"


def test_missing_file() -> None:
    with pytest.raises(ObjectError, match="cannot read object"):
        ObjectSpec.from_file("/nonexistent/x.bpf.o")


# ------------------------------------------------------------ relocation errors


def _first_rel(s: ObjectSpec, code_section: str) -> tuple[int, int, int]:
    """(file offset of the first REL entry, its r_offset, file offset of the code section)."""
    rel = s.elf.relocation_section(s.elf.section(code_section).index)  # type: ignore[union-attr]
    code = s.elf.section(code_section)
    assert rel is not None and code is not None
    r_offset = struct.unpack_from("<Q", rel.data, 0)[0]
    return rel.offset, r_offset, code.offset


def test_relocation_on_wrong_instruction(spec: Getter, bpf_obj: Callable[[str], Path]) -> None:
    s = spec("globals")
    sec = "tp/syscalls/sys_enter_getpid"
    _, r_offset, code_off = _first_rel(s, sec)
    data = bytearray(bpf_obj("globals").read_bytes())
    assert data[code_off + r_offset] == 0x18  # ld_imm64 of target_pid
    data[code_off + r_offset] = 0xB7  # mov64 imm: cannot take a relocation
    with pytest.raises(ObjectError) as exc:
        ObjectSpec.from_bytes(bytes(data), file="g.o")
    err = exc.value
    assert (err.file, err.section, err.offset) == ("g.o", sec, r_offset)
    assert "target_pid" in str(err) and "cannot take a relocation" in str(err)


def test_relocation_against_unsupported_section(
    spec: Getter, bpf_obj: Callable[[str], Path]
) -> None:
    s = spec("globals")
    sec = "tp/syscalls/sys_enter_getpid"
    rel_off, r_offset, _ = _first_rel(s, sec)
    lic = next(y for y in s.elf.symbols if y.name == "LICENSE")
    data = bytearray(bpf_obj("globals").read_bytes())
    info = struct.unpack_from("<Q", data, rel_off + 8)[0]
    struct.pack_into("<Q", data, rel_off + 8, (lic.index << 32) | (info & 0xFFFFFFFF))
    with pytest.raises(ObjectError) as exc:
        ObjectSpec.from_bytes(bytes(data))
    err = exc.value
    assert (err.section, err.offset) == (sec, r_offset)
    assert "'LICENSE'" in str(err) and "'license' is not a map, data or code section" in str(err)


def test_relocation_with_wrong_type(spec: Getter, bpf_obj: Callable[[str], Path]) -> None:
    s = spec("globals")
    rel_off, _, _ = _first_rel(s, "tp/syscalls/sys_enter_getpid")
    data = bytearray(bpf_obj("globals").read_bytes())
    info = struct.unpack_from("<Q", data, rel_off + 8)[0]
    struct.pack_into("<Q", data, rel_off + 8, (info & ~0xFFFFFFFF) | 3)  # R_BPF_64_ABS32
    with pytest.raises(ObjectError, match="R_BPF_64_ABS32 on a ld_imm64"):
        ObjectSpec.from_bytes(bytes(data))

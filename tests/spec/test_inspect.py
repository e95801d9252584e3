"""``pybpf inspect``: JSON checked against the C sources and llvm-readelf; text and rich views."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from spec_readelf import SPEC_OBJECTS, readelf_sections, readelf_symbols

from pybpf import ObjectSpec
from pybpf.cli.inspect import _render_rich, render_text
from pybpf.cli.main import main
from pybpf.errors import ObjectError

KEYS = {"file", "name", "license", "kern_version", "btf", "btf_ext", "sections", "programs",
        "subprograms", "maps", "variables", "externs", "core_relocations"}  # fmt: skip


def _inspect_json(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["inspect", str(path), "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


@pytest.mark.parametrize("name", SPEC_OBJECTS)
def test_json_matches_readelf(
    name: str, bpf_obj: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = bpf_obj(name)
    s = _inspect_json(path, capsys)
    assert set(s) == KEYS
    assert s["file"] == str(path) and s["name"] == name
    secs = readelf_sections(path)
    assert [(x["name"], x["type"], x["size"], x["flags"]) for x in s["sections"]] == [
        (r.name, r.type, r.size, r.flags) for r in secs
    ]
    by_index = {r.index: r.name for r in secs}
    funcs = {y.name: y for y in readelf_symbols(path) if y.type == "FUNC"}
    progs = {p["name"]: p for p in s["programs"] + s["subprograms"]}
    assert set(progs) == set(funcs)
    for n, p in progs.items():
        assert p["section"] == by_index[int(funcs[n].ndx)]
        assert p["insns"] == funcs[n].size // 8
        assert p["subprog"] == (p["section"] == ".text")
    assert s["btf"] == any(r.name == ".BTF" for r in secs)
    assert s["btf_ext"] == any(r.name == ".BTF.ext" for r in secs)


def test_json_legacy_tracex(
    bpf_obj: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    s = _inspect_json(bpf_obj("legacy_tracex"), capsys)
    text = Path("/usr/include/linux/version.h").read_text()
    m = re.search(r"#define LINUX_VERSION_CODE (\d+)", text)
    assert m and s["kern_version"] == int(m.group(1))
    assert s["license"] == "GPL"
    maps = {x["name"]: x for x in s["maps"]}
    assert set(maps) == {"getpid_count", "my_hist_map", "events"}
    assert all(x["legacy"] and x["pinning"] == "none" for x in maps.values())
    assert (maps["events"]["type"], maps["events"]["max_entries"]) == ("perf_event_array", 64)
    assert (maps["my_hist_map"]["type"], maps["my_hist_map"]["key_size"]) == ("percpu_hash", 40)
    progs = {p["name"]: p for p in s["programs"]}
    assert progs["count_getpid"]["type"] == "tracepoint"
    assert progs["count_getpid"]["attach_target"] == "syscalls/sys_enter_getpid"
    assert (
        progs["bpf_prog3"]["type"] == "kprobe"
        and progs["bpf_prog3"]["attach_target"] == "ksys_write"
    )
    assert progs["bpf_prog1"]["type"] == "socket_filter"
    assert s["variables"] == [] and s["externs"] == [] and s["core_relocations"] == 0


def test_json_globals_and_maps(
    bpf_obj: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    g = _inspect_json(bpf_obj("globals"), capsys)
    assert g["license"] == "Dual BSD/GPL" and g["kern_version"] is None
    maps = {x["name"]: x for x in g["maps"]}
    assert (maps["counts"]["key_type"], maps["counts"]["value_type"]) == ("u32", "u64")
    assert maps["counts"]["legacy"] is False and maps["counts"]["kind"] == "user"
    assert maps[".rodata"]["kind"] == "rodata" and maps[".bss"]["kind"] == "bss"
    variables = {v["name"]: v for v in g["variables"]}
    assert (
        variables["greeting"]["section"] == ".data.custom" and variables["greeting"]["size"] == 16
    )
    assert (
        variables["rodata_cfg"]["const"] and variables["rodata_cfg"]["type"] == "const volatile u32"
    )
    progs = {p["name"]: p for p in g["programs"]}
    assert progs["compute"]["type"] == "syscall" and progs["compute"]["sleepable"]

    m = _inspect_json(bpf_obj("maps"), capsys)
    mm = {x["name"]: x for x in m["maps"]}
    assert mm["m_pinned"]["pinning"] == "by_name"
    assert mm["m_array_of_maps"]["values"] == {"0": "inner_a", "3": "inner_b"}
    assert mm["m_array_of_maps"]["inner"]["type"] == "array"
    assert mm["m_bloom"]["map_extra"] == 3

    c = _inspect_json(bpf_obj("core"), capsys)
    assert c["core_relocations"] >= 20
    ext = {e["name"]: e for e in c["externs"]}
    assert (
        ext["CONFIG_DEFAULT_HOSTNAME"]["type"] == "char[16]"
        and ext["CONFIG_DEFAULT_HOSTNAME"]["size"] == 16
    )
    assert ext["CONFIG_PYBPF_NOT_A_REAL_OPTION"]["weak"] is True

    t = _inspect_json(bpf_obj("tailcall"), capsys)
    assert {x["name"]: x for x in t["maps"]}["jmp_table"]["values"] == {
        "1": "tail_one",
        "2": "tail_two",
    }


def test_plain_text_when_not_a_tty(
    bpf_obj: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(bpf_obj("legacy_tracex"))]) == 0
    out = capsys.readouterr().out
    assert "license: GPL" in out and "Programs (3):" in out and "Maps (3):" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("count_getpid"))
    assert line.split()[1:5] == ["tracepoint/syscalls/sys_enter_getpid", "tracepoint", "-",
                                 "syscalls/sys_enter_getpid"]  # fmt: skip
    assert "\x1b[" not in out  # no terminal escapes when piped


def test_rich_tables(bpf_obj: Callable[[str], Path]) -> None:
    s = ObjectSpec.from_file(bpf_obj("globals")).summary()
    buf = io.StringIO()
    _render_rich(s, file=buf)
    out = buf.getvalue()
    for word in ("Programs", "Maps", "Global variables", "on_getpid", "counts", "greeting"):
        assert word in out
    assert render_text(s).count("\n") > 20


def _rename_section(data: bytes, old: str, new: str) -> bytes:
    assert len(old) == len(new)
    raw = old.encode() + b"\0"
    assert data.count(raw) == 1
    return data.replace(raw, new.encode() + b"\0")


def test_unknown_program_section_is_an_error(
    bpf_obj: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bpf_obj("legacy_hello").read_bytes()
    bad = _rename_section(data, "tracepoint/syscalls/sys_enter_execve",
                          "tracepoinx/syscalls/sys_enter_execve")  # fmt: skip
    with pytest.raises(ObjectError) as exc:
        ObjectSpec.from_bytes(bad, file="hello.o")
    assert exc.value.section == "tracepoinx/syscalls/sys_enter_execve"
    assert exc.value.file == "hello.o"
    assert "'tracepoint/<target>'" in str(exc.value)
    path = tmp_path / "bad.o"
    path.write_bytes(bad)
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert "unknown program section name 'tracepoinx/syscalls/sys_enter_execve'" in err
    assert str(path) in err

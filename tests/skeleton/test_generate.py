"""``pybpf gen skeleton``: the generated modules type-check, lint, and model the object."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

import pybpf
from pybpf.btf import Kind
from pybpf.btf.layout import Layout
from pybpf.errors import ObjectError
from pybpf.skeleton import generate, generate_file, skeleton_name

ROOT = Path(__file__).resolve().parents[2]


def _run(*cmd: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_generated_modules_pass_mypy_strict(skel_dir: Path, bpf_objects: Path) -> None:
    """Every test object's skeleton (BTF or not, any map kind) is mypy --strict clean."""
    files = sorted(p.name for p in skel_dir.glob("*_skel.py"))
    assert len(files) == len(list(bpf_objects.glob("*.bpf.o"))) + 1
    proc = _run(sys.executable, "-m", "mypy", "--strict", "--no-incremental", *files, cwd=skel_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"no issues found in {len(files)} source files" in proc.stdout


def test_generated_modules_are_ruff_clean_and_formatted(skel_dir: Path) -> None:
    config = str(ROOT / "pyproject.toml")
    check = _run("ruff", "check", "--config", config, ".", cwd=skel_dir)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = _run("ruff", "format", "--config", config, "--check", ".", cwd=skel_dir)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_generation_is_deterministic(bpf_obj: Callable[[str], Path]) -> None:
    path = bpf_obj("globals")
    data = path.read_bytes()
    assert generate(data, "globals") == generate_file(path)
    assert generate(data, "globals") == generate(bytearray(data), "globals")
    assert generate(data, "other") != generate(data, "globals")


def test_object_is_embedded_with_its_digest(skel: Callable[[str], ModuleType], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    mod = skel("globals")
    data = bpf_obj("globals").read_bytes()
    assert data == mod.ELF
    assert hashlib.sha256(data).hexdigest() == mod.ELF_SHA256
    assert mod.GlobalsSkeleton.OBJECT_NAME == "globals"


def test_members_follow_the_object(skel: Callable[[str], ModuleType], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """One typed attribute per map, program and global variable, in every data section."""
    spec = pybpf.ObjectSpec.from_file(bpf_obj("globals"))
    mod = skel("globals")
    maps = mod.GlobalsMaps.__annotations__
    assert list(maps) == [name.lstrip(".").replace(".", "_") for name in spec.maps]
    assert set(maps.values()) == {"pybpf.Map"}
    assert list(mod.GlobalsProgs.__annotations__) == list(spec.programs)
    classes = {
        ".rodata": mod.GlobalsRodata,
        ".data": mod.GlobalsData,
        ".bss": mod.GlobalsBss,
        ".data.custom": mod.GlobalsDataCustom,
        ".rodata.cfg": mod.GlobalsRodataCfg,
    }
    for var in spec.variables.values():
        prop = vars(classes[var.section])[var.name]
        assert isinstance(prop, property) and prop.fset is not None, var.name
    skel_ann = mod.GlobalsSkeleton.__annotations__
    assert skel_ann["rodata"] == "GlobalsRodata" and skel_ann["data_custom"] == "GlobalsDataCustom"
    # no dynamic lookup: every member is declared on the class
    assert "__getattr__" not in vars(mod.GlobalsSkeleton)
    assert "__getattr__" not in vars(mod.GlobalsBss)


def test_event_dataclass_matches_btf(skel: Callable[[str], ModuleType], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    spec = pybpf.ObjectSpec.from_file(bpf_obj("globals"))
    btf = spec.btf
    assert btf is not None
    tid = btf.find_one("event", Kind.STRUCT)
    Event = skel("globals").Event
    assert tid == Event.TYPE_ID
    assert Event.SIZE == btf.size_of(tid) == 32
    params = dataclasses.fields(Event)
    assert [f.name for f in params] == ["pid", "seq", "value", "comm"]
    assert [f.type for f in params] == ["int", "int", "int", "bytes"]
    assert Event.__dataclass_params__.frozen and hasattr(Event, "__slots__")
    raw = Layout.for_type(btf, tid).encode({"pid": 7, "seq": 2, "value": 1 << 40, "comm": b"sh"})
    ev = Event._decode(raw)
    assert ev == Event(pid=7, seq=2, value=1 << 40, comm=b"sh")
    assert ev.to_dict() == {"pid": 7, "seq": 2, "value": 1 << 40, "comm": b"sh"}
    assert Layout.for_type(btf, tid).encode(ev) == raw


def test_nested_types_enums_bitfields_unions(skel: Callable[[str], ModuleType], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """btf_types: enums (signed, 64-bit), bitfields, a union, nested arrays, pointers."""
    mod = skel("btf_types")
    spec = pybpf.ObjectSpec.from_file(bpf_obj("btf_types"))
    assert spec.btf is not None
    ann = {f.name: f.type for f in dataclasses.fields(mod.BtfEvent)}
    assert ann["color"] == "BtfColor" and ann["big"] == "BtfBig"
    assert ann["bits"] == "BtfBits" and ann["val"] == "BtfValue"
    assert ann["nested"] == "list[list[int]]" and ann["counts"] == "list[int]"
    assert ann["ptr"] == "int" and ann["ok"] == "bool" and ann["ratio"] == "float"
    # a union member named like a builtin type gets a safe Python name
    assert [f.name for f in dataclasses.fields(mod.BtfValue)] == ["u", "s", "bytes_", "d"]
    assert issubclass(mod.BtfColor, enum.IntEnum)
    assert {m.name: int(m) for m in mod.BtfColor} == {"BTF_RED": 0, "BTF_GREEN": 1, "BTF_BLUE": 7}
    assert mod.BtfSigned.BTF_NEG == -2 and mod.BtfBig.BTF_BIG_TOP == 0xFFFFFFFF00000000

    value = {
        "pid": 3,
        "delta": -5,
        "comm": b"abc",
        "color": 7,
        "sign": -2,
        "big": 0x123456789ABCDEF,
        "counts": [1, 2, 3, 4],
        "bits": {"a": 5, "b": 17, "c": -3, "d": 1 << 39, "e": 200, "flag": True, "color": 1},
        "val": {"u": 0x0102030405060708},
        "ratio": 0.5,
        "mean": 2.25,
        "nested": [[1, 2, 3], [4, 5, 6]],
        "ptr": 0xFFFF888000001000,
        "ok": True,
    }
    raw = Layout.for_type(spec.btf, mod.BtfEvent.TYPE_ID).encode(value)
    ev = mod.BtfEvent._decode(raw)
    assert ev.color is mod.BtfColor.BTF_BLUE and ev.sign is mod.BtfSigned.BTF_NEG
    assert ev.big is mod.BtfBig.BTF_BIG_HIGH
    assert ev.bits == mod.BtfBits(a=5, b=17, c=-3, d=1 << 39, e=200, flag=True, color=1)
    assert ev.bits.color is mod.BtfColor.BTF_GREEN
    assert ev.val.u == 0x0102030405060708 and ev.val.s == [0x05060708, 0x01020304]
    assert ev.nested == [[1, 2, 3], [4, 5, 6]] and ev.ptr == 0xFFFF888000001000
    # and back: the dataclass encodes to the same bytes
    assert Layout.for_type(spec.btf, mod.BtfEvent.TYPE_ID).encode(ev.to_dict()) == raw


def test_unnamed_enum_value_still_decodes(skel: Callable[[str], ModuleType]) -> None:
    color = skel("btf_types").BtfColor(5)
    assert int(color) == 5 and color.name == "BtfColor(5)"
    assert isinstance(color, skel("btf_types").BtfColor)


def test_event_readers_typed_when_one_anchor(skel_dir: Path) -> None:
    """A single anchored struct types the readers; two anchors leave them raw."""
    g = (skel_dir / "globals_skel.py").read_text()
    assert "def ringbuf_rb(" in g and "pybpf.RingBuffer[Event]" in g
    p = (skel_dir / "events_perf_skel.py").read_text()
    assert "def perfbuf_events(" in p and "pybpf.PerfBuffer[Event]" in p
    r = (skel_dir / "events_ringbuf_skel.py").read_text()
    for name in ("rb", "rb2", "small"):
        assert f"def ringbuf_{name}(" in r
    assert "pybpf.RingBuffer[bytes]" in r and "RingBuffer[Event]" not in r
    # both anchored structs still get dataclasses (for ``skel.ringbuf(..., event=BigEvent)``)
    assert "class Event:" in r and "class BigEvent:" in r


def test_map_key_and_value_types(skel: Callable[[str], ModuleType], skel_dir: Path) -> None:
    """Struct keys/values of maps get dataclasses; the map attribute documents them."""
    mod = skel("maps")
    assert [f.name for f in dataclasses.fields(mod.LpmKey)] == ["prefixlen", "addr"]
    assert [f.type for f in dataclasses.fields(mod.LpmKey)] == ["int", "list[int]"]
    src = (skel_dir / "maps_skel.py").read_text()
    assert '"""``m_lpm``: lpm_trie, key LpmKey, value int."""' in src
    assert '"""``m_hash``: hash, key int, value int."""' in src


def test_skeleton_name_from_file() -> None:
    assert skeleton_name("/x/bootstrap.bpf.o") == "bootstrap"
    assert skeleton_name("a-b.o") == "a_b"
    assert skeleton_name("plain") == "plain"


def test_cli_writes_the_module(tmp_path: Path, bpf_obj) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "tc_skel.py"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pybpf",
            "gen",
            "skeleton",
            str(bpf_obj("tailcall")),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == generate_file(bpf_obj("tailcall"))
    named = subprocess.run(
        [
            sys.executable,
            "-m",
            "pybpf",
            "gen",
            "skeleton",
            str(bpf_obj("tailcall")),
            "--name",
            "tc",
        ],
        capture_output=True,
        text=True,
    )
    assert named.returncode == 0 and "class TcSkeleton(Skeleton):" in named.stdout


def test_cli_bad_object_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bpf.o"
    bad.write_bytes(b"not an elf file at all")
    out = tmp_path / "bad_skel.py"
    proc = subprocess.run(
        [sys.executable, "-m", "pybpf", "gen", "skeleton", str(bad), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr and "not an ELF" in proc.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]  # no temporary file left behind


def test_corrupt_embedded_object_is_refused(skel: Callable[[str], ModuleType]) -> None:
    base = skel("tailcall").TailcallSkeleton

    class Broken(base):  # type: ignore[valid-type,misc]
        ELF = base.ELF[:-1] + bytes([base.ELF[-1] ^ 0xFF])

    with pytest.raises(ObjectError, match="corrupt"):
        Broken.open()

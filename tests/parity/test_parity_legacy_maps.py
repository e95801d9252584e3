"""Legacy ``maps`` definitions: iproute2's bpf_elf_map, larger structs, static ones.

libbpf 1.x refuses every legacy ``maps`` section (the reference loader shows it);
iproute2 reads ``struct bpf_elf_map`` and pins under ``tc/globals`` or
``tc/<sha1 of the object>``; pybpf follows iproute2.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import BPF_SRC, need, need_tool

import pybpf
from pybpf.elf.maps import BPF_ELF_MAP_SIZE, PIN_BY_NAME
from pybpf.errors import ObjectError
from pybpf.sys.fs import ensure_bpffs

pytestmark = pytest.mark.usefixtures("kernel")

PKT = bytes(64)


@pytest.fixture()
def pin_root() -> Iterator[Path]:
    """A private pin root: pybpf mounts a fresh bpffs there; unmounted afterwards."""
    ensure_bpffs()
    root = Path(f"/sys/fs/bpf/pybpf_parity_{os.getpid()}")
    root.mkdir()
    try:
        yield root
    finally:
        if os.path.ismount(root):
            subprocess.run(["umount", str(root)], check=True)
        shutil.rmtree(root, ignore_errors=True)


def test_bpf_elf_map_layout(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    path = bpf_obj("legacy_iproute2")
    spec = pybpf.open(path).spec
    sha = hashlib.sha1(Path(path).read_bytes()).hexdigest()
    assert spec.maps["pybpf_parity_glob"].pinning == PIN_BY_NAME
    assert spec.maps["pybpf_parity_glob"].pin_dir == "tc/globals"
    assert spec.maps["objns"].pin_dir == f"tc/{sha}"
    assert spec.maps["inner_a"].pinning == 0 and spec.maps["inner_a"].numa_node == 0
    outer = spec.maps["outer"]
    assert outer.inner is not None and outer.inner.name == "inner_a"  # template: id 7
    assert outer.values == ((0, "inner_a"), (2, "inner_b"))  # ids 7 at their inner_idx


def test_pinning_and_map_in_map_in_the_kernel(bpf_obj, pin_root: Path) -> None:  # type: ignore[no-untyped-def]
    path = bpf_obj("legacy_iproute2")
    sha = hashlib.sha1(Path(path).read_bytes()).hexdigest()
    with pybpf.load(path, pin_root=pin_root) as obj:
        glob = pin_root / "tc" / "globals" / "pybpf_parity_glob"
        assert glob.exists()
        assert (pin_root / "tc" / sha / "objns").exists()
        assert not any(p.name in ("inner_a", "outer") for p in pin_root.rglob("*"))
        prog = obj.programs["read_slots"]
        assert prog.test_run(PKT).retval == 1 | 2 | 4 | 8
        first_id = obj.maps["pybpf_parity_glob"].info().id
    # a second load shares the pinned global map (iproute2's PIN_GLOBAL_NS)
    with pybpf.load(path, pin_root=pin_root) as obj2:
        assert obj2.maps["pybpf_parity_glob"].info().id == first_id
        obj2.programs["read_slots"].test_run(PKT)
        count = obj2.maps["pybpf_parity_glob"].lookup(0)
        assert int.from_bytes(count, "little") == 2  # both runs counted


def test_default_root_is_sys_fs_bpf_tc_globals(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    path = bpf_obj("legacy_iproute2")
    tc = Path("/sys/fs/bpf/tc")
    glob = tc / "globals" / "pybpf_parity_glob"
    objdir = tc / hashlib.sha1(Path(path).read_bytes()).hexdigest()
    if glob.exists() or objdir.exists():
        need(False, f"{glob} or {objdir} is left from another run: remove it")
    obj = pybpf.open(path)
    try:
        obj.load()
        assert glob.exists() and (objdir / "objns").exists()
    finally:
        obj.close()
        glob.unlink(missing_ok=True)
        (objdir / "objns").unlink(missing_ok=True)
        for d in (objdir, tc / "globals", tc):  # only when empty: others may pin there
            with contextlib.suppress(OSError):
                d.rmdir()


def _patched(path: Path, tmp_path: Path, field: int, value: int, name: str = "objns") -> Path:
    """The object with one u32 of map ``name``'s definition changed."""
    spec = pybpf.open(path).spec
    sec = spec.elf.section("maps")
    assert sec is not None
    data = bytearray(Path(path).read_bytes())
    at = sec.offset + spec.maps[name].offset + 4 * field
    data[at : at + 4] = value.to_bytes(4, "little")
    out = tmp_path / "patched.bpf.o"
    out.write_bytes(data)
    return out


def test_custom_pinning_is_refused(bpf_obj, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = _patched(bpf_obj("legacy_iproute2"), tmp_path, 6, 5)
    with pytest.raises(ObjectError, match=r"'objns'.*pinning 5.*bpf_pinning") as exc:
        pybpf.open(bad)
    assert exc.value.section == "maps"


def test_map_in_map_without_inner_id_is_refused(bpf_obj, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = _patched(bpf_obj("legacy_iproute2"), tmp_path, 7, 9, name="outer")
    with pytest.raises(ObjectError, match=r"'outer'.*inner_id 9"):
        pybpf.open(bad)


def test_static_definition_is_refused(tmp_path: Path) -> None:
    clang = need_tool("clang-19", "builds the invalid test object")
    src = BPF_SRC / "invalid" / "legacy_static_map.bpf.c"
    out = tmp_path / "legacy_static_map.bpf.o"
    flags = ["-O2", "-target", "bpf", "-idirafter", "/usr/include/x86_64-linux-gnu"]
    subprocess.run([clang, *flags, "-c", str(src), "-o", str(out)], check=True)
    with pytest.raises(ObjectError, match=r"'hidden': static map definitions") as exc:
        pybpf.open(out)
    assert exc.value.section == "maps"


def test_larger_definition_with_zero_tail_loads(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """40-byte definitions (bpf_map_def plus three zero fields): accepted and loaded."""
    with pybpf.load(bpf_obj("legacy_spec_large")) as obj:
        assert obj.maps["large_outer"].fd > 0
        assert obj.programs["read_large"].loaded


def test_libbpf_refuses_legacy_maps(libbpf_load: Callable[..., str], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """libbpf 1.0+ (1.1 and current) refuses every legacy "maps" section."""
    assert BPF_ELF_MAP_SIZE == 36
    for name in ("legacy_iproute2", "legacy_spec_large"):
        assert libbpf_load("-o", bpf_obj(name)).startswith("ERR"), name

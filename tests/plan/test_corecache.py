"""The per-boot CO-RE cache: a later process gets the same answer without kernel BTF.

Each test plans real objects against the running kernel (``running_facts``) with the
cache in a temporary directory, then plans again as a new process would (the
in-process table dropped) and compares everything the planner produced.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pybpf.elf.spec import ObjectSpec
from pybpf.kernel.facts import running_facts
from pybpf.plan import corecache, plan_object
from pybpf.plan.model import LoadPlan

BOOTSTRAP = Path(__file__).parents[2] / "src" / "pybpf" / "tools" / "objects" / "bootstrap.bpf.o"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache directory, and no answer kept in this process."""
    d = tmp_path / "cache"
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(d))
    monkeypatch.setattr(corecache, "_OPEN", {})
    yield d


def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corecache, "_OPEN", {})


def _plan(path: Path) -> tuple[LoadPlan, bool]:
    """The plan of ``path`` on the running kernel, and whether kernel BTF was parsed."""
    spec = ObjectSpec.from_file(path)
    facts = running_facts()
    plan = plan_object(spec, facts)
    return plan, facts.btf_if_loaded() is not None


def _entries(d: Path) -> dict[str, bytes]:
    """Every answer kept in ``d`` (one file per object), all of this boot's kernel."""
    out: dict[str, bytes] = {}
    for f in d.glob("core-*.bin"):
        identity, table = marshal.loads(f.read_bytes())
        assert isinstance(identity, str) and identity == running_facts().core_identity
        out.update(table)
    return out


def _same(a: LoadPlan, b: LoadPlan) -> None:
    assert a.programs.keys() == b.programs.keys()
    for name, pa in a.programs.items():
        pb = b.programs[name]
        assert pa.code == pb.code, name
        assert pa.patches == pb.patches, name
    assert a.core.keys() == b.core.keys()
    for func, results in a.core.items():
        assert results == b.core[func], func


def test_second_process_answers_from_the_cache_without_kernel_btf(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, kernel: None
) -> None:
    first, parsed = _plan(BOOTSTRAP)
    assert parsed, "the first plan must compute CO-RE against kernel BTF"
    assert first.core and all(
        r.target_btf_name == "vmlinux" for rs in first.core.values() for r in rs
    )
    stored = _entries(cache_dir)
    assert len(stored) == len(first.core)
    _fresh_process(monkeypatch)
    second, parsed = _plan(BOOTSTRAP)
    assert not parsed, "an answer kept this boot must not parse kernel BTF again"
    _same(first, second)
    # the rebuilt results still name the object's own records
    spec = ObjectSpec.from_file(BOOTSTRAP)
    for func, results in second.core.items():
        prog = {**spec.programs, **spec.subprograms}[func]
        assert [r.relo for r in results] == list(prog.core_relos)
        assert all(str(r).startswith(f"relo #{r.index}: ") for r in results)


def test_unsure_answers_are_not_kept(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, bpf_obj: Callable[[str], Path], kernel: None
) -> None:
    """core.bpf.o reads a field and a type no kernel has: those programs' answers could
    change when a module is loaded, so only all-vmlinux programs (if any) are kept."""
    path = bpf_obj("core")
    first, _ = _plan(path)
    sure = {
        f
        for f, rs in first.core.items()
        if all(r.target_btf_name == "vmlinux" or r.kind == "local_type_id" for r in rs)
    }
    unsure = set(first.core) - sure
    assert unsure, "core.bpf.o must have programs whose answers could change"
    assert len(_entries(cache_dir)) == len(sure)
    _fresh_process(monkeypatch)
    second, parsed = _plan(path)
    assert parsed  # the unsure programs are computed again
    _same(first, second)


def test_edited_instructions_are_a_new_key(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, kernel: None
) -> None:
    spec = ObjectSpec.from_file(BOOTSTRAP)
    facts = running_facts()
    name, prog = next((n, p) for n, p in spec.programs.items() if p.core_relos)
    ident = facts.core_identity
    assert ident is not None
    assert spec.btf is not None
    key = corecache.core_key(ident, spec.btf.data, prog.insns, prog.section, prog.core_relos)
    edited = bytearray(prog.insns)
    edited[4] ^= 1  # the first instruction's immediate changed
    assert key != corecache.core_key(
        ident, spec.btf.data, bytes(edited), prog.section, prog.core_relos
    )
    assert key != corecache.core_key(
        ident + "x", spec.btf.data, prog.insns, prog.section, prog.core_relos
    ), name


@pytest.mark.parametrize("damage", ["garbage", "other-identity", "bad-entry"])
def test_damaged_or_foreign_cache_is_ignored(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, damage: str, kernel: None
) -> None:
    first, _ = _plan(BOOTSTRAP)
    (path,) = cache_dir.glob("core-*.bin")  # one object: one file
    identity, table = marshal.loads(path.read_bytes())
    if damage == "garbage":
        path.write_bytes(b"\x00not marshal")
    elif damage == "other-identity":
        path.write_bytes(marshal.dumps((identity + "-other", table)))
    else:
        path.write_bytes(marshal.dumps((identity, dict.fromkeys(table, b"\xff\xfe"))))
    os.chmod(path, 0o600)
    _fresh_process(monkeypatch)
    second, parsed = _plan(BOOTSTRAP)
    assert parsed, "a cache that cannot be trusted is recomputed"
    _same(first, second)


def test_custom_btf_and_no_cache_dir_keep_nothing(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, kernel: None
) -> None:
    assert running_facts(btf_custom_path="/sys/kernel/btf/vmlinux").core_identity is None
    monkeypatch.setenv("PYBPF_CACHE_DIR", "")
    _plan(BOOTSTRAP)
    assert not cache_dir.exists()
    _fresh_process(monkeypatch)
    _, parsed = _plan(BOOTSTRAP)
    assert parsed


def test_files_of_earlier_boots_are_removed(cache_dir: Path, kernel: None) -> None:
    cache_dir.mkdir(mode=0o700)
    old = cache_dir / "core-00000000-0000-0000-0000-000000000000-0011223344556677.bin"
    old.write_bytes(marshal.dumps(("00000000-0000-0000-0000-000000000000:x:1", {})))
    other = cache_dir / "features-keep-me"
    other.write_bytes(b"x")
    _plan(BOOTSTRAP)
    assert not old.exists()
    assert other.exists()
    assert len(list(cache_dir.glob("core-*.bin"))) == 1


def test_one_small_file_per_object(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, kernel: None
) -> None:
    """Each object's answers go to a file of their own, so a process reads only the
    answers of the objects it loads, however many other objects were loaded this boot."""
    execsnoop = BOOTSTRAP.with_name("execsnoop.bpf.o")
    first, _ = _plan(BOOTSTRAP)
    other, _ = _plan(execsnoop)
    assert first.core and other.core
    files = sorted(cache_dir.glob("core-*.bin"))
    assert len(files) == 2
    identity = running_facts().core_identity
    assert identity is not None
    assert all(f.name.startswith(f"core-{identity.split(':')[0]}-") for f in files)
    _fresh_process(monkeypatch)
    again, parsed = _plan(execsnoop)
    assert not parsed
    _same(other, again)

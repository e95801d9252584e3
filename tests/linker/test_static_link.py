"""The static linker against bpftool's (``bpftool gen object``) on the same inputs,
without the kernel: sections, symbols, BTF and .BTF.ext of the linked object."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.linker.conftest import APP, bpftool_link

from pybpf.btf.ext import BTFExt
from pybpf.btf.reader import BTF
from pybpf.btf.types import Func, Linkage
from pybpf.elf.reader import ElfObject, SymbolBind, SymbolVisibility
from pybpf.elf.spec import ObjectSpec
from pybpf.errors import ObjectError, StaticLinkError
from pybpf.linker import link_files, link_objects

Obj = Callable[[str], Path]


@pytest.fixture(scope="module")
def pair(link_obj: Obj, tmp_path_factory: pytest.TempPathFactory) -> tuple[ElfObject, ElfObject]:
    """(ours, bpftool's) links of the test program."""
    d = tmp_path_factory.mktemp("link")
    inputs = [link_obj(n) for n in APP]
    ours = ElfObject.from_bytes(link_objects(inputs), file="ours")
    ref = ElfObject.from_file(bpftool_link(d / "ref.bpf.o", inputs))
    return ours, ref


def _symbols(elf: ElfObject) -> set[tuple[object, ...]]:
    def sec(shndx: int) -> str:
        return elf.sections[shndx].name if 0 < shndx < len(elf.sections) else str(shndx)

    return {(s.name, s.bind, s.type, s.visibility, sec(s.shndx), s.value, s.size)
            for s in elf.symbols[1:]}  # fmt: skip


def _btf(elf: ElfObject) -> tuple[BTF, BTFExt]:
    sec, ext = elf.section(".BTF"), elf.section(".BTF.ext")
    assert sec is not None and ext is not None
    btf = BTF.from_bytes(sec.data)
    return btf, BTFExt.from_bytes(ext.data, btf)


def test_code_and_data_sections_are_bpftools(pair: tuple[ElfObject, ElfObject]) -> None:
    ours, ref = pair
    kept = [
        s for s in ref.sections if s.name and s.type in (1, 8) and not s.name.startswith(".BTF")
    ]
    assert {s.name for s in kept} == {
        s.name for s in ours.sections if s.type in (1, 8) and not s.name.startswith(".BTF")
    }
    for s in kept:
        mine = ours.section(s.name)
        assert mine is not None
        assert (mine.size, mine.data, mine.flags, mine.addralign) == (
            s.size, s.data, s.flags, s.addralign), s.name  # fmt: skip
    assert not any(s.name.startswith(".debug") for s in ours.sections)


def test_symbols_are_bpftools(pair: tuple[ElfObject, ElfObject]) -> None:
    ours, ref = pair
    assert _symbols(ours) == _symbols(ref)
    binds = [s.bind for s in ours.symbols[1:]]
    assert binds == sorted(binds, key=lambda b: b != SymbolBind.LOCAL)  # locals first (ELF)


def test_relocations_are_bpftools(pair: tuple[ElfObject, ElfObject]) -> None:
    ours, ref = pair

    def rels(elf: ElfObject) -> set[tuple[str, int, str, int]]:
        return {(sec.name, r.offset, elf.symbol(r.symbol).name, int(r.type))
                for sec in elf.sections for r in elf.relocations(sec.index)
                if sec.is_alloc}  # fmt: skip

    assert rels(ours) == rels(ref)
    assert rels(ours)


def test_btf_is_merged_and_deduplicated_like_bpftools(pair: tuple[ElfObject, ElfObject]) -> None:
    (ours, _), (ref, _) = _btf(pair[0]), _btf(pair[1])
    named = Counter((t.kind.name, t.name) for _, t in ours if t.name)
    assert named == Counter((t.kind.name, t.name) for _, t in ref if t.name)
    assert Counter(t.kind.name for _, t in ours) == Counter(t.kind.name for _, t in ref)
    assert named[("STRUCT", "task_struct")] == 1  # both objects' vmlinux.h types merged
    assert named[("VAR", "counter")] == 2  # two statics stay two
    assert named[("FUNC", "lib_mul")] == 1  # extern and definition are one FUNC


def test_datasecs_have_final_offsets(pair: tuple[ElfObject, ElfObject]) -> None:
    ours = pair[0]
    btf, _ = _btf(ours)
    syms = [(s.name, ours.sections[s.shndx].name, s) for s in ours.symbols[1:]
            if 0 < s.shndx < len(ours.sections)]  # fmt: skip
    checked = 0
    for _, ds in btf:
        if ds.kind.name != "DATASEC" or ds.name in (".kconfig", ".ksyms"):
            continue
        sec = ours.section(ds.name)
        assert sec is not None and ds.size == sec.size  # type: ignore[union-attr]
        for vs in ds.vars:  # type: ignore[union-attr]
            name = btf.name_of(vs.type)
            candidates = [s for n, sn, s in syms if n == name and sn == ds.name]
            if len(candidates) == 1:
                assert vs.offset == candidates[0].value, name
                checked += 1
    assert checked >= 8


def test_btf_ext_records_are_bpftools(pair: tuple[ElfObject, ElfObject]) -> None:
    (b1, e1), (b2, e2) = _btf(pair[0]), _btf(pair[1])

    def fi(b: BTF, e: BTFExt) -> dict[str, list[tuple[int, str]]]:
        return {k: [(r.insn_off, b.name_of(r.type_id)) for r in v] for k, v in e.func_info.items()}

    def li(e: BTFExt) -> dict[str, list[tuple[int, str, int, int]]]:
        return {k: [(r.insn_off, r.line_text, r.line, r.col) for r in v]
                for k, v in e.line_info.items()}  # fmt: skip

    def cr(b: BTF, e: BTFExt) -> dict[str, list[tuple[int, str, str, int]]]:
        return {k: [(r.insn_off, b.type_name(r.type_id), r.access_str, r.kind) for r in v]
                for k, v in e.core_relos.items()}  # fmt: skip

    assert fi(b1, e1) == fi(b2, e2)
    assert li(e1) == li(e2)
    assert cr(b1, e1) == cr(b2, e2)
    assert sum(map(len, e1.core_relos.values())) == 1


def test_spec_of_linked_object(link_obj: Obj) -> None:
    spec = ObjectSpec.from_bytes(link_objects([link_obj(n) for n in APP]))
    assert set(spec.programs) == {"main_prog", "lib_prog"}
    assert {p.section for p in spec.programs.values()} == {"syscall"}
    assert set(spec.maps) >= {"shared", "lib_map", ".data", ".bss", ".rodata", ".kconfig"}
    # static functions and variables of the same name stay apart
    helpers = [n for n in spec.subprograms if n.split("@")[0] == "helper"]
    counters = [n for n in spec.variables if n.split("@")[0] == "counter"]
    assert len(helpers) == 2 and len(counters) == 2
    assert "LINUX_KERNEL_VERSION" in spec.externs
    # hidden lib_add, called from both objects, is verified as a static function
    assert spec.btf is not None
    (fid,) = spec.btf.find("lib_add")
    assert spec.btf.type(fid) == Func("lib_add", spec.btf.type(fid).type, Linkage.STATIC)  # type: ignore[union-attr]
    assert spec.variables["weak_var"].is_global


def test_weak_and_strong_resolution(link_obj: Obj) -> None:
    def symbol(order: list[str], name: str) -> tuple[int, int, int]:
        elf = ElfObject.from_bytes(link_objects([link_obj(n) for n in order]))
        (s,) = [s for s in elf.symbols if s.name == name]
        return s.value, s.bind, s.visibility

    lib_first, main_first = list(APP), list(reversed(APP))
    lib_elf = ElfObject.from_file(link_obj("link_lib"))
    lib_syms = {s.name: s for s in lib_elf.symbols}
    # strong beats weak whatever the order: link_lib's weak_bias
    assert symbol(lib_first, "weak_bias") == (lib_syms["weak_bias"].value, SymbolBind.GLOBAL, 0)
    assert symbol(main_first, "weak_bias")[1] == SymbolBind.GLOBAL
    # weak vs weak: the first object's
    assert symbol(lib_first, "weak_only")[0] == lib_syms["weak_only"].value
    assert symbol(main_first, "weak_only")[0] == 0x10  # link_main's, second in its .text
    assert symbol(main_first, "weak_only")[1] == SymbolBind.WEAK
    # hidden stays hidden (the loader treats it as static)
    assert symbol(lib_first, "lib_add")[2] == SymbolVisibility.HIDDEN


@pytest.mark.parametrize(
    ("other", "symbol", "words"),
    [
        ("link_dup", "lib_mul", "defined (non-weak) in two objects"),
        ("link_badfunc", "lib_mul", "2 vs 1 parameters"),
        ("link_badmap", "shared", "max_entries 4 and 8 differ"),
        ("link_badvar", "lib_data", "sizes 8 and 4 differ"),
        ("link_badsec", "lib_data", "declared in '.bss' but defined in '.data'"),
    ],
)
def test_conflicts_name_symbol_and_both_files(
    link_obj: Obj, other: str, symbol: str, words: str
) -> None:
    lib, bad = link_obj("link_lib"), link_obj(other)
    with pytest.raises(StaticLinkError) as ei:
        link_objects([lib, bad])
    err = ei.value
    assert isinstance(err, ObjectError)
    assert err.symbol == symbol and err.files == (str(lib), str(bad))
    assert words in str(err) and str(lib) in str(err) and str(bad) in str(err)


def test_unresolved_extern(link_obj: Obj, tmp_path: Path) -> None:
    main = link_obj("link_main")
    with pytest.raises(StaticLinkError, match="'lib_mul' is not defined") as ei:
        link_objects([main])
    assert ei.value.files == (str(main),)
    out = link_files(tmp_path / "lib.bpf.o", [main], allow_unresolved=True)
    undef = {s.name for s in ElfObject.from_file(out).symbols[1:] if s.is_undefined}
    assert undef == {"lib_mul", "lib_add", "lib_data", "lib_ro", "lib_bss", "shared", "lib_map",
                     "LINUX_KERNEL_VERSION"}  # fmt: skip
    # the library links on with the object that completes it
    done = ElfObject.from_bytes(link_objects([out, link_obj("link_lib")]))
    assert {s.name for s in done.symbols[1:] if s.is_undefined} == {"LINUX_KERNEL_VERSION"}


def test_bad_input_is_object_error(tmp_path: Path, link_obj: Obj) -> None:
    junk = tmp_path / "junk.bpf.o"
    junk.write_bytes(b"not an object")
    with pytest.raises(ObjectError, match=r"junk\.bpf\.o"):
        link_objects([link_obj("link_lib"), junk])
    with pytest.raises(ObjectError, match="nothing to link"):
        link_objects([])


def test_gen_object_cli(link_obj: Obj, tmp_path: Path) -> None:
    out = tmp_path / "app.bpf.o"
    inputs = [str(link_obj(n)) for n in APP]
    proc = subprocess.run([sys.executable, "-m", "pybpf", "gen", "object", str(out), *inputs],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == link_objects(inputs)
    bad = subprocess.run(
        [sys.executable, "-m", "pybpf", "gen", "object", str(tmp_path / "x.bpf.o"),
         inputs[0], str(link_obj("link_dup"))], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode != 0 and "lib_mul" in bad.stderr and "link_dup" in bad.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.bpf.o"]  # nothing half-written


def _kinds(elf: ElfObject) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    btf, _ = _btf(elf)
    return Counter(t.kind.name for _, t in btf), Counter(
        (t.kind.name, t.name) for _, t in btf if t.name
    )


# Objects that no static linker takes, with why (a test below checks both refuse them).
_UNLINKABLE = {
    "parity_asm_symbols": "PYBPF_MAGIC",  # referenced only from inline asm: no BTF VAR/FUNC
}
_SINGLE = sorted(
    p.name.removesuffix(".bpf.c")
    for p in (Path(__file__).parents[1] / "bpf").glob("*.bpf.c")
    if not p.name.startswith("legacy_") and p.name.removesuffix(".bpf.c") not in _UNLINKABLE
)


@pytest.mark.parametrize("name", sorted(_UNLINKABLE))
def test_unlinkable_objects_refused_like_bpftool(
    bpf_objects: Path, tmp_path: Path, name: str
) -> None:
    """A global symbol without BTF (inline asm only): pybpf names it, bpftool refuses too."""
    inputs = [bpf_objects / f"{name}.bpf.o"]
    with pytest.raises(ObjectError, match=_UNLINKABLE[name]):
        link_objects(inputs)
    with pytest.raises(AssertionError, match=_UNLINKABLE[name]):
        bpftool_link(tmp_path / "ref.bpf.o", inputs)


@pytest.mark.parametrize(
    "names",
    [[n] for n in _SINGLE] + [["core", "ksyms"], ["net_xdp", "tools_xdp"]],
    ids=lambda n: "+".join(n),
)
def test_linked_test_objects_match_bpftool(
    bpf_objects: Path, tmp_path: Path, names: list[str]
) -> None:
    """Every test object (alone, and some pairs) links as bpftool links it: same code and
    data bytes, same symbols, same BTF types by kind and name; programs are unchanged."""
    inputs = [bpf_objects / f"{n}.bpf.o" for n in names]
    ours = ElfObject.from_bytes(link_objects(inputs))
    ref = ElfObject.from_file(bpftool_link(tmp_path / "ref.bpf.o", inputs))
    code = [s for s in ref.sections if s.type in (1, 8) and not s.name.startswith(".BTF")]
    for s in code:
        mine = ours.section(s.name)
        assert mine is not None and (mine.data, mine.size) == (s.data, s.size), s.name
    assert _symbols(ours) == _symbols(ref)
    assert _kinds(ours) == _kinds(ref)
    if len(names) == 1:
        before, after = ObjectSpec.from_file(inputs[0]), ObjectSpec.from_bytes(link_objects(inputs))
        assert set(before.programs) == set(after.programs) and set(before.maps) == set(after.maps)
        for name, p in before.programs.items():
            q = after.programs[name]
            assert (p.insns, len(p.line_info), len(p.func_info), len(p.core_relos)) == (
                q.insns, len(q.line_info), len(q.func_info), len(q.core_relos))  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_corrupted_input_raises_object_error(link_obj: Obj, data: st.DataObject) -> None:
    """Bytes changed anywhere in an input: linked, or an ObjectError, nothing else."""
    lib = bytearray(link_obj("link_lib").read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(lib) - 1))
        lib[pos] = data.draw(st.integers(0, 255))
    try:
        out = link_objects([bytes(lib), link_obj("link_main")])
    except ObjectError as exc:
        assert "<input 0>" in str(exc) or "cannot link malformed" in str(exc)  # names it
        return
    ElfObject.from_bytes(out)  # whatever links is a well-formed object


def test_spec_equals_spec_of_bpftools_link(link_obj: Obj, tmp_path: Path) -> None:
    """pybpf reads both links alike: programs, subprograms, maps, variables, externs."""
    inputs = [link_obj(n) for n in APP]
    ours = ObjectSpec.from_bytes(link_objects(inputs), name="app").summary()
    ref = ObjectSpec.from_file(bpftool_link(tmp_path / "app.bpf.o", inputs), name="app").summary()
    for key in ("file", "sections"):  # bpftool puts .strtab/.symtab first
        ours.pop(key), ref.pop(key)
    assert ours == ref
    assert len(ours["programs"]) == 2 and len(ours["maps"]) == 7  # 2 BTF maps, 5 data

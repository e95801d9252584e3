"""The generated UAPI enums: regenerating from the running kernel gives the committed
module, and helper ids agree with libbpf's bpf_helper_defs.h."""

from __future__ import annotations

import ast
import enum
import importlib.util
import pickle
import re
import threading
from enum import IntEnum, IntFlag
from pathlib import Path
from types import ModuleType

import pytest
from tests.conftest import need

from pybpf.uapi import enums, gen

HELPER_DEFS = Path("/usr/include/bpf/bpf_helper_defs.h")


def test_regenerating_from_running_kernel_matches_committed_module() -> None:
    need(Path("/sys/kernel/btf/vmlinux").exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    from pybpf.btf import BTF

    btf = BTF.load_vmlinux()
    assert gen.render(btf) == gen.OUTPUT.read_text(), (
        "src/pybpf/uapi/enums.py is stale: run python -m pybpf.uapi.gen --write"
    )
    assert gen.render_stub(btf) == gen.STUB.read_text(), (
        "src/pybpf/uapi/enums.pyi is stale: run python -m pybpf.uapi.gen --write"
    )


def _stub_classes() -> dict[str, tuple[str, str | None, dict[str, int]]]:
    """The classes the committed stub spells out: name -> (base, docstring, members)."""
    tree = ast.parse(gen.STUB.read_text())
    out: dict[str, tuple[str, str | None, dict[str, int]]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = {
                st.targets[0].id: ast.literal_eval(st.value)
                for st in node.body
                if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name)
            }
            base = node.bases[0]
            assert isinstance(base, ast.Name)
            out[node.name] = (base.id, ast.get_docstring(node), members)
    return out


def test_lazy_classes_equal_the_generated_class_definitions() -> None:
    """Each class built on first access has exactly the members, values, member order,
    base and docstring the generator spells out as a class in enums.pyi."""
    classes = _stub_classes()
    assert set(classes) == set(enums._TABLE)
    assert set(classes) <= set(enums.__all__)
    for name, (base, doc, members) in classes.items():
        cls = getattr(enums, name)
        assert cls.__name__ == cls.__qualname__ == name
        assert cls.__module__ == "pybpf.uapi.enums"
        assert cls.__bases__ == ({"IntEnum": IntEnum, "IntFlag": IntFlag}[base],)
        assert cls.__doc__ == doc
        # values, and names in definition order (aliases included), as the class body gives
        assert [(n, m.value) for n, m in cls.__members__.items()] == list(members.items())


def _fresh_enums() -> ModuleType:
    """A new copy of pybpf.uapi.enums (nothing built yet)."""
    spec = importlib.util.find_spec("pybpf.uapi.enums")
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    return fresh


@pytest.mark.parametrize("fast", [True, False], ids=["simple_enum", "functional"])
def test_lazy_classes_behave_as_class_statements(fast: bool) -> None:
    """Built by the stdlib's _simple_enum (or the functional API without it), each class
    passes the stdlib's own equivalence check against the class statement in enums.pyi
    (members, aliases, flag boundary, str/repr/format of members and pseudo-members)."""
    check = getattr(enum, "_test_simple_enum", None)
    assert check is not None, "enum._test_simple_enum (Python 3.11+) is gone: find another check"
    mod = _fresh_enums()
    if not fast:
        mod._simple_enum = None
    stub: dict[str, object] = {"__name__": "pybpf.uapi.enums"}
    exec(compile(gen.STUB.read_text(), str(gen.STUB), "exec"), stub)
    for name in mod._TABLE:
        built = getattr(mod, name)
        check(stub[name], built)
        if issubclass(built, IntFlag):  # combined and unknown bits as a class gives them
            ref = stub[name]
            assert isinstance(ref, type) and issubclass(ref, IntFlag)
            every = 0
            for m in built:
                every |= m.value
            for value in (every, every | (1 << 40), 1 << 41):
                assert repr(built(value)) == repr(ref(value)), (name, value)


def test_lazy_classes_match_kernel_btf_collected_by_generator() -> None:
    need(Path("/sys/kernel/btf/vmlinux").exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    from pybpf.btf import BTF

    for name, members in gen.collect(BTF.load_vmlinux()).items():
        cls = getattr(enums, name)
        assert [(n, int(m)) for n, m in cls.__members__.items()] == members, name


def test_lazy_class_is_one_object_across_access_paths_threads_and_pickle() -> None:
    fresh = _fresh_enums()  # the classes are built here, racing
    assert "FuncId" not in vars(fresh)  # nothing built at import
    barrier = threading.Barrier(8)
    seen: list[type] = []

    def grab() -> None:
        barrier.wait()
        seen.append(fresh.FuncId)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and all(c is seen[0] for c in seen)
    assert vars(fresh)["FuncId"] is seen[0]
    from pybpf.uapi.enums import FuncId, MapFlags

    assert FuncId is enums.FuncId
    assert pickle.loads(pickle.dumps(FuncId.map_lookup_elem)) is FuncId.map_lookup_elem
    flags = MapFlags.RDONLY | MapFlags.MMAPABLE
    assert pickle.loads(pickle.dumps(flags)) == flags
    assert "FuncId" in dir(enums) and "Cmd" in dir(enums)
    with pytest.raises(AttributeError, match="NoSuchEnum"):
        _ = enums.NoSuchEnum  # type: ignore[attr-defined]
    star: dict[str, object] = {}
    exec("from pybpf.uapi.enums import *", star)
    assert star["XdpFlags"] is enums.XdpFlags and star["OBJ_NAME_LEN"] == 16


def test_memlock_probe_helper_number_is_ktime_get_coarse_ns() -> None:
    from pybpf.sys import memlock

    assert enums.FuncId.ktime_get_coarse_ns == memlock.KTIME_GET_COARSE_NS


def test_check_mode_of_generator_passes() -> None:
    need(Path("/sys/kernel/btf/vmlinux").exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    assert gen.main(["--check"]) == 0


def test_helper_ids_agree_with_libbpf_helper_defs() -> None:
    need(HELPER_DEFS.exists(), "libbpf-dev headers (the reference helper ids) are not installed")
    # libbpf declares each helper as: static T (*[const] bpf_NAME)(...) = (void *) ID;
    decl = re.compile(
        r"\(\s*\*\s*(?:const\s+)?bpf_(\w+)\)\s*\(.*?\)\s*=\s*\(void \*\)\s*(\d+);", re.S
    )
    found = dict(decl.findall(HELPER_DEFS.read_text()))
    assert len(found) > 150
    for name, value in found.items():
        if name in enums.FuncId.__members__:
            assert enums.FuncId[name] == int(value), name
    # every helper libbpf knows is known to the kernel we generated from
    missing = sorted(set(found) - set(enums.FuncId.__members__))
    assert not missing, missing


def test_names_drop_c_prefixes_and_sentinels() -> None:
    assert enums.Cmd.MAP_CREATE == 0 and enums.Cmd.PROG_LOAD == 5
    assert enums.MapType.HASH == 1 and enums.ProgType.SOCKET_FILTER == 1
    assert enums.FuncId.map_lookup_elem == 1
    assert enums.AttachType.CGROUP_INET_INGRESS == 0
    for cls in (enums.Cmd, enums.MapType, enums.ProgType, enums.AttachType, enums.LinkType):
        assert not [m for m in cls.__members__ if m.startswith("_") or "MAX" in m], cls
    assert "MAX" not in enums.BtfKind.__members__
    # the non-deprecated alias is the canonical name
    assert enums.MapType(enums.MapType.CGROUP_STORAGE).name == "CGROUP_STORAGE"


def test_flags_are_int_flags() -> None:
    f = enums.MapFlags.NO_PREALLOC | enums.MapFlags.MMAPABLE
    assert int(f) == 1 | 1024
    assert enums.UpdateFlags.F_LOCK == 4
    assert enums.ProgFlags.SLEEPABLE == 16 and enums.AttachFlags.ALLOW_MULTI == 2
    assert enums.XdpFlags.SKB_MODE == 2


def test_attrs_are_generated_from_the_running_kernel() -> None:
    """sys/attrs.py is what gen_attrs makes from this kernel's BTF: the same text on the
    kernel it was generated from; on any other, every field the kernel has sits at its
    offset and size (the kernel only appends; older kernels lack trailing fields)."""
    need(Path("/sys/kernel/btf/vmlinux").exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    from pybpf.btf import BTF
    from pybpf.uapi import gen_attrs

    btf = BTF.load_vmlinux()
    assert gen_attrs.problems(btf) == [], "run python -m pybpf.uapi.gen_attrs --write"
    committed = gen_attrs.OUTPUT.read_text()
    made_on = re.search(r"BTF of\n# Linux (\d+\.\d+) ", committed)
    assert made_on, committed[:200]
    if made_on.group(1) == gen_attrs._release():
        assert gen_attrs.render(btf, made_on.group(1)) == committed
    assert gen_attrs.main(["--check"]) == 0


def test_attr_drift_is_reported() -> None:
    """A layout that lost a field or sized one wrongly is named, field by field."""
    need(Path("/sys/kernel/btf/vmlinux").exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    import ctypes
    import types

    from pybpf.btf import BTF
    from pybpf.sys import attrs
    from pybpf.uapi import gen_attrs

    class MapCreateAttr(ctypes.Structure):  # stops before map_extra
        _fields_ = attrs.MapCreateAttr._fields_[:13]

    class BatchAttr(ctypes.Structure):  # count as a u64: every later field moves
        _fields_ = tuple(
            (n, ctypes.c_uint64 if n == "count" else t) for n, t in attrs.BatchAttr._fields_
        )

    drifted = types.SimpleNamespace(**vars(attrs))
    drifted.MapCreateAttr, drifted.BatchAttr = MapCreateAttr, BatchAttr
    found = gen_attrs.problems(BTF.load_vmlinux(), drifted)
    assert "MapCreateAttr.map_extra: missing (the kernel has it at offset 64)" in found
    assert "BatchAttr.count: at (32, 8), the kernel says (32, 4)" in found
    assert any(p.startswith("BatchAttr.elem_flags: at ") for p in found)
    assert all(p.startswith(("MapCreateAttr.", "BatchAttr.")) for p in found)


def test_generator_checks_ctypes_against_kernel_offsets() -> None:
    """The generator refuses a layout ctypes would place elsewhere than the kernel: a
    field of the wrong width, or a bitfield packed differently."""
    need(Path("/sys/kernel/btf/vmlinux").exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    import ctypes

    import pytest

    from pybpf.btf import BTF, Kind
    from pybpf.sys import attrs
    from pybpf.uapi import gen_attrs

    btf = BTF.load_vmlinux()
    prog_info = btf.find("bpf_prog_info", Kind.STRUCT)[0]
    gen_attrs._same_layout(btf, prog_info, attrs.BpfProgInfo, "BpfProgInfo")  # as generated

    def changed(name: str, *spec: object) -> type[ctypes.Structure]:
        fields = [
            (n, *spec) if n == name else (n, t, *r) for n, t, *r in attrs.BpfProgInfo._fields_
        ]
        return type("Wrong", (ctypes.Structure,), {"_fields_": fields})

    # ifindex as a 16-bit field: gpl_compatible packs into its unit, 16 bits early
    with pytest.raises(AssertionError, match=r"P\.gpl_compatible: ctypes bit 656, kernel 672"):
        gen_attrs._same_layout(btf, prog_info, changed("ifindex", ctypes.c_uint32, 16), "P")
    # id as a u64: everything after it moves
    with pytest.raises(AssertionError, match=r"ctypes (size|bit)"):
        gen_attrs._same_layout(btf, prog_info, changed("id", ctypes.c_uint64), "P")


def test_link_info_union_is_generated_and_its_drift_reported() -> None:
    """struct bpf_link_info is generated too: its per-link-type structs sit in an
    anonymous union, and a member struct that lost a field (or a missing member) is
    named by its dotted C path."""
    need(Path("/sys/kernel/btf/vmlinux").exists(), "kernel has no BTF (/sys/kernel/btf/vmlinux)")
    import ctypes
    import types

    from pybpf.btf import BTF
    from pybpf.sys import attrs
    from pybpf.uapi import gen_attrs

    assert "BpfLinkInfo" in {s.cls for s in gen_attrs.ATTRS}
    info = attrs.BpfLinkInfo()
    info.perf_event.uprobe.cookie = 7  # C names through the anonymous unions
    assert ctypes.string_at(ctypes.addressof(info) + 40, 8) == (7).to_bytes(8, "little")
    union = dict(attrs.BpfLinkInfo._fields_)["_3"]
    multi = dict(union._fields_)["uprobe_multi"]

    class UprobeMulti(ctypes.Structure):  # stops before pid
        _fields_ = multi._fields_[:-1]

    class Union3(ctypes.Union):  # no tcx member, a shorter uprobe_multi
        _fields_ = tuple(
            (n, UprobeMulti if n == "uprobe_multi" else t) for n, t in union._fields_ if n != "tcx"
        )

    class BpfLinkInfo(ctypes.Structure):
        _anonymous_ = ("_3",)
        _fields_ = tuple((n, Union3 if n == "_3" else t) for n, t in attrs.BpfLinkInfo._fields_)

    drifted = types.SimpleNamespace(**vars(attrs))
    drifted.BpfLinkInfo = BpfLinkInfo
    found = gen_attrs.problems(BTF.load_vmlinux(), drifted)
    assert sorted(found) == [
        "BpfLinkInfo.tcx.attach_type: missing (the kernel has it at offset 20)",
        "BpfLinkInfo.tcx.ifindex: missing (the kernel has it at offset 16)",
        "BpfLinkInfo.uprobe_multi.pid: missing (the kernel has it at offset 60)",
    ]

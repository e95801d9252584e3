"""The pure planner: relocation and CO-RE planned without root against several kernels' BTF.

Targets: the running kernel's ``/sys/kernel/btf/vmlinux`` and, when
``scripts/vmtest.sh`` has cached them, the kernel-matrix Debian kernels (their BTF
read from the vmlinux inside the xz-compressed vmlinuz). The oracle is each
kernel's own BTF, read by name here, and for the running kernel the live load:
what the planner makes from a BTF file is byte for byte what the loader sends.
"""

from __future__ import annotations

import lzma
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pybpf.btf import BTF, Kind, Struct
from pybpf.elf.relocs import RelocKind
from pybpf.elf.spec import ObjectSpec
from pybpf.kernel.kconfig import kernel_version, read_kernel_config
from pybpf.plan import KernelFacts, plan_object
from pybpf.plan.linker import INSN
from pybpf.uapi.enums import MapFlags

VMTEST = Path(os.environ.get("PYBPF_VMTEST_CACHE", "/var/lib/pybpf-vmtest"))
_XZ = b"\xfd7zXZ\x00"


def _matrix_kernels(tmp: Path) -> list[tuple[str, Path, Path, str]]:
    """(label, BTF-bearing vmlinux, config, release) of each cached xz-compressed kernel."""
    out = []
    for boot in sorted(VMTEST.glob("kernel-*/root/boot")):
        images = sorted(boot.glob("vmlinuz-*"))
        if not images:
            continue
        release = images[0].name.removeprefix("vmlinuz-")
        config = boot / f"config-{release}"
        data = images[0].read_bytes()
        at = data.find(_XZ)
        if at < 0 or not config.exists():
            continue  # zstd-compressed (6.12+): no decompressor in the standard library
        try:
            vmlinux = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[at:])
        except lzma.LZMAError:
            continue
        path = tmp / f"vmlinux-{release}"
        path.write_bytes(vmlinux)
        out.append((release, path, config, release))
    return out


@pytest.fixture(scope="session")
def targets(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, KernelFacts]]:
    """KernelFacts for every kernel BTF at hand, each from files only."""
    facts = [
        (
            "running",
            KernelFacts.from_btf(
                "/sys/kernel/btf/vmlinux",
                kconfig=read_kernel_config(),
                kernel_version=kernel_version(),
            ),
        )
    ]
    for label, vmlinux, config, release in _matrix_kernels(tmp_path_factory.mktemp("kernels")):
        facts.append(
            (
                label,
                KernelFacts.from_btf(
                    vmlinux,
                    kconfig=read_kernel_config([str(config)]),
                    kernel_version=kernel_version(release=release, version="", ubuntu_signature=""),
                ),
            )
        )
    return facts


def _member_offset(btf: BTF, struct: str, member: str) -> int:
    (sid,) = [i for i in btf.find(struct, Kind.STRUCT)][:1]
    st = btf.type(sid)
    assert isinstance(st, Struct)
    (m,) = [m for m in st.members if m.name == member]
    return int(m.bit_offset // 8)


def test_core_plan_matches_each_kernels_btf(
    bpf_obj: Callable[[str], Path], targets: list[tuple[str, KernelFacts]]
) -> None:
    spec = ObjectSpec.from_file(bpf_obj("core"))
    elf_code = spec.programs["read_task"].insns
    offsets: dict[str, int] = {}
    for label, facts in targets:
        plan = plan_object(spec, facts)
        prog = plan.programs["read_task"]
        results = plan.core["read_task"]
        btf = facts.btf
        checked = 0
        for r in results:
            m = re.fullmatch(r"task_struct___mine\.(pid|tgid|real_parent|comm)", r.access)
            if r.kind != "byte_off" or m is None:
                continue
            want = _member_offset(btf, "task_struct", m.group(1))
            assert r.new_value == want, (label, r.access, r.new_value, want)
            # the planned code carries it: the instruction differs from the object's
            at = slice(r.insn_index * INSN, (r.insn_index + 1) * INSN)
            assert prog.code[at] != elf_code[at] or r.orig_value == want, (label, r.access)
            checked += 1
        assert checked == 4, label
        (size,) = [r for r in results if r.kind == "type_size"]
        (tid,) = btf.find("task_struct", Kind.STRUCT)[:1]
        assert size.new_value == btf.size_of(tid), label
        offsets[label] = _member_offset(btf, "task_struct", "pid")
        # .kconfig holds this kernel's CONFIG_HZ; maps are referenced by patches, not fds
        kc = plan.maps[".kconfig"]
        assert kc.initial is not None and kc.freeze
        hz = int(facts.kconfig["CONFIG_HZ"])  # type: ignore[index]
        hz_ext = spec.externs["CONFIG_HZ"]
        assert int.from_bytes(kc.initial[hz_ext.offset : hz_ext.offset + 4], "little") == hz
        assert {p.ref for p in prog.patches} == {("map", ".rodata"), ("map", ".bss"), ("map", ".kconfig")}
        assert plan.maps[".bss"].create["flags"] & MapFlags.MMAPABLE
    assert len(targets) >= 1
    if len(targets) > 1:  # the kernels differ: the plan followed each one's BTF
        assert len(set(offsets.values())) > 1, offsets


def test_plan_reports_the_missing_kernel_type(
    bpf_obj: Callable[[str], Path], targets: list[tuple[str, KernelFacts]]
) -> None:
    """A field no kernel has is poisoned (guarded in C), not an error, on every target."""
    spec = ObjectSpec.from_file(bpf_obj("core"))
    for label, facts in targets:
        results = plan_object(spec, facts).core["read_task"]
        future = [r for r in results if "no_such_field_in_any_kernel" in r.access]
        assert future and all(r.new_value == 0 for r in future), label
        assert any(r.poisoned for r in future), label


def test_autocreate_off_is_a_plan_error(bpf_obj: Callable[[str], Path]) -> None:
    from pybpf.errors import RelocationError
    from pybpf.plan.planner import settings_for

    spec = ObjectSpec.from_file(bpf_obj("core"))
    settings = settings_for(spec)
    settings.maps[".bss"].autocreate = False
    facts = KernelFacts.from_btf(
        "/sys/kernel/btf/vmlinux", kconfig=read_kernel_config(), kernel_version=kernel_version()
    )
    with pytest.raises(RelocationError, match=r"'\.bss'.*autocreate is off"):
        plan_object(spec, facts, settings)


def test_plan_from_a_file_is_what_the_loader_sends(
    bpf_obj: Callable[[str], Path], kernel: None
) -> None:
    """Planned from the BTF file without the kernel, then loaded for real: the same code,
    but for the fds the executor writes at the plan's patch slots."""
    import pybpf

    with pybpf.load(bpf_obj("core")) as obj:
        assert obj.handles is not None and obj.plan is not None
        sent = bytearray(obj.handles.sent["read_task"])
        facts = KernelFacts.from_btf(
            "/sys/kernel/btf/vmlinux", kconfig=read_kernel_config(), kernel_version=kernel_version()
        )
        planned = plan_object(obj.spec, facts, obj.settings()).programs["read_task"]
    code = bytearray(planned.code)
    assert planned.patches
    for p in planned.patches:
        for buf in (sent, code):  # imm of both ld_imm64 halves
            buf[p.slot * INSN + 4 : p.slot * INSN + 8] = bytes(4)
            buf[(p.slot + 1) * INSN + 4 : (p.slot + 1) * INSN + 8] = bytes(4)
    assert sent == code
    assert any(fx.reloc.kind is RelocKind.DATA for fx in planned.linked.fixups)  # type: ignore[union-attr]


def test_facts_are_asked_only_when_the_object_needs_them(bpf_obj: Callable[[str], Path]) -> None:
    """A load pays for what its object uses: no config read, kallsyms parse or CPU
    count for an object without kconfig/ksym externs or per-CPU-sized maps."""
    asked: list[str] = []

    def ask(what: str, value: Any) -> Callable[[], Any]:
        def get() -> Any:
            asked.append(what)
            return value

        return get

    def feature(name: str) -> bool:
        asked.append(name)
        return True

    btf = BTF.from_file("/sys/kernel/btf/vmlinux")
    facts = KernelFacts(
        btf=btf,
        kconfig=ask("kconfig", read_kernel_config()),
        kallsyms=ask("kallsyms", None),
        possible_cpus=ask("cpus", 2),
        kernel_version=ask("version", kernel_version()),
        features=feature,
    )
    plan = plan_object(ObjectSpec.from_file(bpf_obj("globals")), facts)
    assert "compute" in plan.programs
    assert asked == ["btf", "mmapable_array"]  # BTF support, and mmapable global data
    plan_object(ObjectSpec.from_file(bpf_obj("core")), facts)
    assert "kconfig" in asked and "version" in asked and "kallsyms" not in asked
    assert asked.count("kconfig") == 1  # asked once, then kept

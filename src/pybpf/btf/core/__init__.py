"""CO-RE relocation: resolve ``.BTF.ext`` CO-RE records against target BTF, patch insns.

Pure (no syscalls): the target BTF (vmlinux, optionally module BTFs) is an input.
Semantics are libbpf's ``bpf_core_calc_relo_insn`` + ``bpf_core_patch_insn``:
candidates by essential name (vmlinux first, modules only if vmlinux has none),
per-object candidate cache pruned to the matching candidates, ambiguity is an
error unless all candidates agree, and a relocation that cannot be resolved
poisons its instruction (``call 0xbad2310``) so that dead code still loads.

Typical use::

    resolver = CoreResolver(obj_btf, CoreTarget.kernel())
    insns, results = resolver.relocate(ext.core_relos[sec], insns, program="handler")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from pybpf._dataclass import dataclass
from pybpf.asm.insn import Instruction
from pybpf.btf.core.calc import ReloValues, calc_relo
from pybpf.btf.core.match import Candidate, find_candidates, spec_match
from pybpf.btf.core.patch import POISON_IMM, PatchError, patch_insn
from pybpf.btf.core.spec import (
    CoreSpec,
    access_path,
    format_spec,
    is_enumval_based,
    is_field_based,
    kind_str,
    parse_spec,
    relo_kind_str,
)
from pybpf.btf.coreresult import CoreResult
from pybpf.btf.ext import CoreReloKind
from pybpf.btf.reader import BTF, VMLINUX_PATH, kernel_btf
from pybpf.errors import BTFError, CoreRelocationError

__all__ = [
    "POISON_IMM",
    "CoreReloLike",
    "CoreResolver",
    "CoreResult",
    "CoreTarget",
    "failed_relocation_at",
    "poisoned_call_in_log",
    "resolve_relocations",
]

INSN_SIZE = 8


class CoreReloLike(Protocol):
    """What a CO-RE record must provide (``pybpf.btf.ext.CoreRelo`` does)."""

    @property
    def insn_off(self) -> int: ...
    @property
    def type_id(self) -> int: ...
    @property
    def access_str(self) -> str: ...
    @property
    def kind(self) -> CoreReloKind: ...


def failed_relocation_at(results: Sequence[CoreResult], insn_index: int) -> CoreResult | None:
    """The poisoned relocation whose instruction is ``insn_index`` (for verifier errors).

    A poisoned ld_imm64 covers two slots; either of them names the relocation.
    """
    for r in results:
        if not r.poisoned:
            continue
        if r.insn_index == insn_index or (r.slots == 2 and insn_index == r.insn_index + 1):
            return r
    return None


_POISON_CALL = rf"^\s*(\d+):.*\(85\) call unknown#{POISON_IMM}\b"  # compiled on first use
_POISON_REJECT = f"invalid func unknown#{POISON_IMM}"


def poisoned_call_in_log(log: str, results: Sequence[CoreResult]) -> CoreResult | None:
    """The failed relocation a verifier log rejected (``invalid func unknown#195896080``).

    The loader turns the answer's :meth:`CoreResult.failure_message` into the error
    it raises instead of the verifier's cryptic line. None if the log is about
    something else.
    """
    if _POISON_REJECT not in log:
        return None
    end = log.index(_POISON_REJECT)
    found = None
    for m in re.compile(_POISON_CALL, re.M).finditer(log, 0, end):
        found = int(m[1])
    if found is not None:
        return failed_relocation_at(results, found)
    poisoned = [r for r in results if r.poisoned]
    return poisoned[0] if len(poisoned) == 1 else None


_ModuleSource = Sequence[tuple[str, BTF]] | Callable[[], Sequence[tuple[str, BTF]]]


class CoreTarget:
    """The BTF a program is relocated against: vmlinux (or a custom file) plus modules.

    ``modules`` is a list of (name, split BTF) or a function producing it, called
    only when vmlinux has no candidate for some type (libbpf loads module BTF
    lazily in the same way). A custom vmlinux BTF disables module search.
    """

    def __init__(self, vmlinux: BTF, modules: _ModuleSource = (), *, name: str = "vmlinux"):
        self.vmlinux = vmlinux
        self.name = name
        self._module_source = modules
        self._modules: list[tuple[str, BTF]] | None = None

    @classmethod
    def kernel(cls, custom_path: str | Path | None = None) -> CoreTarget:
        """The running kernel's BTF (``/sys/kernel/btf``), or ``custom_path`` alone."""
        if custom_path is not None:
            return cls(BTF.from_file(custom_path), (), name=str(custom_path))
        vmlinux = kernel_btf()  # parsed once per process, shared by every object

        def load_modules() -> list[tuple[str, BTF]]:
            out = []
            for p in sorted(Path(VMLINUX_PATH).parent.iterdir()):
                if p.name != "vmlinux":
                    try:
                        out.append((p.name, BTF.load_module(p.name, vmlinux)))
                    except BTFError:
                        continue  # an unreadable module BTF cannot hold candidates
            return out

        return cls(vmlinux, load_modules)

    @property
    def modules(self) -> list[tuple[str, BTF]]:
        """The module BTFs (loaded on first use)."""
        if self._modules is None:
            src = self._module_source
            self._modules = list(src() if callable(src) else src)
        return self._modules

    def btfs(self) -> list[tuple[str, BTF]]:
        """vmlinux and every module BTF, in search order."""
        return [(self.name, self.vmlinux), *self.modules]

    def candidates(self, local: BTF, local_id: int) -> list[Candidate]:
        """Target candidates for local type ``local_id`` (vmlinux first, then modules)."""
        cands = find_candidates(local, local_id, self.vmlinux, self.name)
        if cands:
            return cands
        for name, btf in self.modules:
            cands.extend(find_candidates(local, local_id, btf, name))
        return cands


def _as_target(target: CoreTarget | BTF | Sequence[BTF]) -> CoreTarget:
    if isinstance(target, CoreTarget):
        return target
    if isinstance(target, BTF):
        return CoreTarget(target)
    seq = list(target)
    if not seq:
        raise BTFError("no target BTF given for CO-RE relocation")
    return CoreTarget(seq[0], [(b.name, b) for b in seq[1:]])


@dataclass(slots=True)
class _Resolved:
    values: ReloValues
    target: Candidate | None
    target_spec: CoreSpec | None
    had_candidates: bool


class CoreResolver:
    """Resolves CO-RE relocations of one object; keeps libbpf's per-object candidate cache."""

    def __init__(
        self,
        local_btf: BTF,
        target: CoreTarget | BTF | Sequence[BTF],
        *,
        file: str | None = None,
    ) -> None:
        self.local = local_btf
        self.target = _as_target(target)
        self.file = file
        self._cands: dict[int, list[Candidate]] = {}

    # ------------------------------------------------------------------ resolution

    def _error(
        self, msg: str, *, program: str | None, section: str | None, relo: CoreReloLike | None
    ) -> CoreRelocationError:
        return CoreRelocationError(
            msg,
            file=self.file,
            section=section,
            offset=relo.insn_off if relo is not None else None,
            program=program,
        )

    def resolve(self, relo: CoreReloLike) -> tuple[CoreSpec, _Resolved]:
        """Local spec and computed values of one relocation (no instruction involved).

        Raises BTFError subclasses for malformed specs and for ambiguity.
        """
        local_spec = parse_spec(self.local, relo.type_id, relo.access_str, relo.kind)
        if relo.kind == CoreReloKind.TYPE_ID_LOCAL:
            v = ReloValues(relo.type_id, relo.type_id, validate=False)
            return local_spec, _Resolved(v, None, None, True)
        if not self.local.name_of(relo.type_id):
            raise BTFError(
                f"<{relo_kind_str(relo.kind)}> relocation on anonymous type [{relo.type_id}] "
                "is not supported (no name to search the target for)"
            )
        cands = self._cands.get(relo.type_id)
        if cands is None:
            cands = self._cands[relo.type_id] = self.target.candidates(self.local, relo.type_id)
        chosen: tuple[ReloValues, Candidate, CoreSpec] | None = None
        kept: list[Candidate] = []
        for cand in cands:
            matched, cspec = spec_match(local_spec, cand.btf, cand.id)
            if not matched:
                continue
            vals = calc_relo(relo.kind, local_spec, cspec)
            if chosen is None:
                chosen = (vals, cand, cspec)
            elif cspec.bit_offset != chosen[2].bit_offset:
                raise BTFError(
                    f"field offset ambiguity: candidate [{cand.id}] in {cand.btf_name} gives "
                    f"bit offset {cspec.bit_offset}, [{chosen[1].id}] gives {chosen[2].bit_offset}"
                )
            elif vals.poison != chosen[0].poison or vals.new_val != chosen[0].new_val:
                raise BTFError(
                    "relocation decision ambiguity: candidate "
                    f"[{cand.id}] in {cand.btf_name} gives "
                    f"{'failure' if vals.poison else vals.new_val}, [{chosen[1].id}] gives "
                    f"{'failure' if chosen[0].poison else chosen[0].new_val}"
                )
            kept.append(cand)
        if kept:
            cands[:] = kept  # libbpf prunes the cached list to the matching candidates
        if chosen is None:
            return local_spec, _Resolved(
                calc_relo(relo.kind, local_spec, None), None, None, bool(cands)
            )
        return local_spec, _Resolved(chosen[0], chosen[1], chosen[2], True)

    def relocate(
        self,
        relos: Sequence[CoreReloLike],
        insns: Sequence[Instruction],
        *,
        program: str | None = None,
        section: str | None = None,
    ) -> tuple[list[Instruction], list[CoreResult]]:
        """Patch ``insns`` (one section or program, ``Instruction.slot`` = section slot).

        Records whose instruction is not in ``insns`` are an error. Returns the new
        instruction list (an ld_imm64 that gets poisoned becomes two 1-slot calls)
        and one :class:`CoreResult` per record.
        """
        by_slot = {insn.slot: i for i, insn in enumerate(insns)}
        base = insns[0].slot if insns else 0
        current: dict[int, list[Instruction]] = {}
        results: list[CoreResult] = []
        for n, relo in enumerate(relos):
            slot = relo.insn_off // INSN_SIZE
            pos = by_slot.get(slot)
            if pos is None or relo.insn_off % INSN_SIZE:
                raise self._error(
                    f"CO-RE relocation #{n} points at byte {relo.insn_off}, not at an instruction",
                    program=program,
                    section=section,
                    relo=relo,
                )
            insn_index = slot - base
            try:
                local_spec, res = self.resolve(relo)
            except BTFError as exc:
                raise self._error(
                    f"CO-RE relocation #{n} at insn #{insn_index}: {exc.message}",
                    program=program,
                    section=section,
                    relo=relo,
                ) from exc
            insn = current[pos][0] if pos in current else insns[pos]
            try:
                replacement, change = patch_insn(insn, res.values)
            except PatchError as exc:
                raise self._error(
                    f"CO-RE relocation #{n} ({format_spec(local_spec)}) at insn #{insn_index}: {exc}",
                    program=program,
                    section=section,
                    relo=relo,
                ) from exc
            current[pos] = replacement
            poisoned = replacement[0].imm == POISON_IMM and replacement[0].is_call
            if poisoned and insn.is_ld_imm64:
                change = "poisoned ld_imm64 (both slots)"
            results.append(
                CoreResult(
                    index=n,
                    relo=relo,
                    insn_index=insn_index,
                    section_slot=slot,
                    local_spec=format_spec(local_spec),
                    access=_short_access(local_spec),
                    orig_value=res.values.orig_val,
                    new_value=res.values.new_val,
                    poisoned=poisoned,
                    reason=_reason(relo.kind, res, change) if poisoned else None,
                    target_btf_name=res.target.btf_name if res.target else None,
                    target_type_id=res.target.id if res.target else None,
                    target_spec=format_spec(res.target_spec) if res.target_spec else None,
                    change=change,
                    slots=sum(i.width for i in replacement),
                )
            )
        out: list[Instruction] = []
        for i, insn in enumerate(insns):
            out.extend(current.get(i, (insn,)))
        return out, results


def _short_access(spec: CoreSpec) -> str:
    btf = spec.btf
    name = btf.name_of(spec.root_type_id) or "<anon>"
    if is_field_based(spec.relo_kind):
        return f"{name}{access_path(spec)}"
    if is_enumval_based(spec.relo_kind):
        return f"{name}::{spec.spec[0].name}"
    return f"{kind_str(btf.kind_of(spec.root_type_id))} {name}"


def _reason(kind: int, res: _Resolved, change: str) -> str:
    if res.values.fail_memsz_adjust:
        return "field accessed with a size that changed incompatibly in kernel BTF"
    if not res.had_candidates:
        return "type not found in kernel BTF"
    if is_field_based(kind):
        return "field not found in kernel BTF"
    if is_enumval_based(kind):
        return "enum value not found in kernel BTF"
    return change


def resolve_relocations(
    local_btf: BTF,
    target: CoreTarget | BTF | Sequence[BTF],
    relos: Sequence[CoreReloLike],
    insns: Sequence[Instruction],
    *,
    program: str | None = None,
    section: str | None = None,
) -> tuple[list[Instruction], list[CoreResult]]:
    """One-shot :meth:`CoreResolver.relocate` (use a resolver to share its cache)."""
    return CoreResolver(local_btf, target).relocate(relos, insns, program=program, section=section)

"""What one CO-RE relocation came to (:class:`CoreResult`), apart from the resolver.

Kept light (no BTF matching code) so a load answered from the per-boot CO-RE cache
(:mod:`pybpf.plan.corecache`) can rebuild its results without importing the
resolver; :mod:`pybpf.btf.core` re-exports it.

Example::

    from pybpf.btf.coreresult import relo_kind_str
    from pybpf.btf.ext import CoreReloKind

    relo_kind_str(CoreReloKind.FIELD_BYTE_OFFSET)  # 'byte_off'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf._dataclass import dataclass
from pybpf.btf.ext import CoreReloKind

if TYPE_CHECKING:
    from pybpf.btf.core import CoreReloLike

__all__ = ["CoreResult", "relo_kind_str"]


_RELO_KIND_STR = {
    CoreReloKind.FIELD_BYTE_OFFSET: "byte_off",
    CoreReloKind.FIELD_BYTE_SIZE: "byte_sz",
    CoreReloKind.FIELD_EXISTS: "field_exists",
    CoreReloKind.FIELD_SIGNED: "signed",
    CoreReloKind.FIELD_LSHIFT_U64: "lshift_u64",
    CoreReloKind.FIELD_RSHIFT_U64: "rshift_u64",
    CoreReloKind.TYPE_ID_LOCAL: "local_type_id",
    CoreReloKind.TYPE_ID_TARGET: "target_type_id",
    CoreReloKind.TYPE_EXISTS: "type_exists",
    CoreReloKind.TYPE_MATCHES: "type_matches",
    CoreReloKind.TYPE_SIZE: "type_size",
    CoreReloKind.ENUMVAL_EXISTS: "enumval_exists",
    CoreReloKind.ENUMVAL_VALUE: "enumval_value",
}


def relo_kind_str(kind: int) -> str:
    """libbpf's short name of a relocation kind (``byte_off``, ``type_size``, ...)."""
    try:
        return _RELO_KIND_STR[CoreReloKind(kind)]
    except ValueError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class CoreResult:
    """The outcome of one CO-RE relocation, for tools and for readable load errors.

    ``index`` is the relocation's number among the records passed (libbpf's
    ``relo #N``); ``insn_index`` the instruction index inside the given instruction
    list; ``target_type_id`` is the id inside ``target_btf_name`` (for module BTF:
    the split-BTF id).
    """

    index: int
    relo: CoreReloLike
    insn_index: int
    section_slot: int
    local_spec: str
    access: str
    orig_value: int
    new_value: int
    poisoned: bool
    reason: str | None
    target_btf_name: str | None
    target_type_id: int | None
    target_spec: str | None
    change: str
    slots: int = 1

    @property
    def kind(self) -> str:
        """libbpf's short kind name (``byte_off``, ``enumval_value``, ...)."""
        return relo_kind_str(self.relo.kind)

    def failure_message(self, program: str | None = None, source: str | None = None) -> str:
        """``CO-RE relocation #3 (task_struct___future.x) failed: field not found ...``."""
        msg = f"CO-RE relocation #{self.index} ({self.access}) failed: {self.reason}"
        where = []
        if program:
            where.append(f"program {program!r}")
        where.append(f"insn #{self.insn_index}")
        if source:
            where.append(source)
        return f"{msg} ({', '.join(where)})"

    def __str__(self) -> str:
        head = f"relo #{self.index}: {self.local_spec}"
        if self.poisoned:
            return f"{head}: poisoned insn #{self.insn_index} ({self.reason})"
        return f"{head}: insn #{self.insn_index} {self.change}"

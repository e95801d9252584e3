"""Which BTF struct the records of a ring or perf buffer are, when the user does not say.

An object usually names its event type by anchoring it in BTF (``struct event *unused``
as a global, or a variable of that type). Candidates, best first: structs reached from
a global variable; else the object's own structs that are not kernel types, not map
definitions and not tracepoint contexts. One candidate wins outright; with several,
the record size picks among them.
"""

from __future__ import annotations

from pybpf.btf import BTF
from pybpf.btf.types import Array, Const, Datasec, Ptr, Struct, Typedef, Var, Volatile

__all__ = ["EventTypes"]

_SKIP_PREFIXES = ("trace_event_raw_", "trace_entry", "bpf_", "pt_regs", "__sk_buff", "xdp_md")


def _strip(btf: BTF, tid: int) -> int:
    """Follow pointers, arrays, typedefs and qualifiers to the type underneath."""
    seen = 0
    while tid and seen < 32:
        t = btf.type(tid)
        if isinstance(t, Ptr | Typedef | Const | Volatile | Array):
            tid = t.type
        else:
            break
        seen += 1
    return tid


class EventTypes:
    """Event struct candidates of one object's BTF."""

    def __init__(self, btf: BTF | None, map_value_types: set[int] | None = None) -> None:
        self.btf = btf
        self.anchored: list[int] = []
        self.own: list[int] = []
        if btf is None:
            return
        excluded = set(map_value_types or ())
        map_defs: set[int] = set()
        for _tid, t in btf.own_types():
            if isinstance(t, Datasec) and t.name == ".maps":
                for v in t.vars:
                    var = btf.type(v.type)
                    if isinstance(var, Var):
                        map_defs.add(_strip(btf, var.type))
        for _tid, t in btf.own_types():
            if isinstance(t, Var):
                target = _strip(btf, t.type)
                st = btf.type(target) if target else None
                if (
                    isinstance(st, Struct)
                    and st.name
                    and target not in map_defs
                    and target not in self.anchored
                    and target not in excluded
                ):
                    self.anchored.append(target)
        for tid, t in btf.own_types():
            if (
                isinstance(t, Struct)
                and t.name
                and t.size
                and tid not in map_defs
                and tid not in excluded
                and not t.name.startswith(_SKIP_PREFIXES)
                and not self._is_kernel_type(t.name)
            ):
                self.own.append(tid)

    @staticmethod
    def _is_kernel_type(name: str) -> bool:
        try:
            from pybpf.btf import Kind

            return bool(BTF.load_vmlinux().find(name, Kind.STRUCT))
        except Exception:
            return False

    def pick(self, record_size: int | None = None) -> int | None:
        """The event type id for records of ``record_size`` bytes (None if unsure)."""
        btf = self.btf
        if btf is None:
            return None
        for group in (self.anchored, self.own):
            if len(group) == 1 and (record_size is None or btf.size_of(group[0]) <= record_size):
                return group[0]
            if record_size is not None:
                sized = [t for t in group if btf.size_of(t) == record_size]
                if len(sized) == 1:
                    return sized[0]
        return None

    def name(self, tid: int) -> str:
        """The struct's C name."""
        assert self.btf is not None
        return self.btf.type_name(tid)

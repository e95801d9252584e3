"""``.ksyms`` externs: kernel symbol addresses, typed kernel variables and kfuncs.

Pure resolution over inputs: ``/proc/kallsyms`` text (parsed by
:func:`parse_kallsyms`) for typeless ksyms, and kernel BTF (vmlinux, then module
split BTFs) for typed variables (including per-CPU ones) and kfuncs, checked for
compatibility the way libbpf does. Weak externs that cannot be found resolve to
"absent" (zero); strong ones raise :class:`~pybpf.errors.ExternError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pybpf._dataclass import dataclass
from pybpf.btf.core.compat import types_are_compat
from pybpf.btf.core.spec import essential_name, kind_str
from pybpf.btf.types import Func, Kind, Var
from pybpf.errors import BTFError, ExternError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = [
    "KALLSYMS_PATH",
    "Kallsyms",
    "KernelBTFs",
    "KsymExtern",
    "KsymResolution",
    "parse_kallsyms",
    "read_kallsyms",
    "resolve_ksym",
    "resolve_ksyms",
]

KALLSYMS_PATH = "/proc/kallsyms"


class KsymExtern(Protocol):
    """What a ``.ksyms`` extern must provide (``pybpf.elf.externs.ExternSpec`` does).

    ``type_id``: the VAR's declared type (0/void for typeless ksyms) or, for a
    kfunc, the FUNC's id; ``is_func`` marks kfuncs.
    """

    @property
    def name(self) -> str: ...
    @property
    def type_id(self) -> int: ...
    @property
    def is_weak(self) -> bool: ...
    @property
    def is_func(self) -> bool: ...


# --------------------------------------------------------------------------- kallsyms


@dataclass(frozen=True, slots=True)
class Kallsyms:
    """Parsed ``/proc/kallsyms``: name -> addresses (several for duplicated statics)."""

    addresses: Mapping[str, tuple[int, ...]]
    types: Mapping[str, str]

    def lookup(self, name: str) -> tuple[int, ...]:
        """Every address of ``name`` (empty when absent)."""
        return self.addresses.get(name, ())


def parse_kallsyms(text: str) -> Kallsyms:
    """Parse kallsyms lines ``addr type name [module]`` (pure).

    Data symbols with an LLVM ``.llvm.<hash>`` suffix are also indexed under their
    plain name, as libbpf does. Module symbols are kept like core ones.
    """
    addrs: dict[str, list[int]] = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        try:
            addr = int(parts[0], 16)
        except ValueError:
            continue
        typ, name = parts[1], parts[2]
        if typ == "d" and ".llvm." in name:
            name = name[: name.index(".llvm.")]
        lst = addrs.setdefault(name, [])
        if addr not in lst:
            lst.append(addr)
        types.setdefault(name, typ)
    return Kallsyms({k: tuple(v) for k, v in addrs.items()}, types)


_KALLSYMS: dict[str, Kallsyms] = {}  # parsed once per process and path


def read_kallsyms(path: str = KALLSYMS_PATH, *, fresh: bool = False) -> Kallsyms:
    """Read and parse ``/proc/kallsyms`` (addresses are zero without CAP_SYSLOG).

    Parsed at most once per process (about 0.3 s for a full kernel); ``fresh=True``
    re-reads it, e.g. after loading a module. Example: ``read_kallsyms().lookup("bpf_prog_put")``.
    """
    if not fresh and path in _KALLSYMS:
        return _KALLSYMS[path]
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ExternError(f"cannot read {path} for typeless ksyms: {exc.strerror}") from exc
    _KALLSYMS[path] = syms = parse_kallsyms(text)
    return syms


# --------------------------------------------------------------------------- BTF


class KernelBTFs:
    """vmlinux BTF plus module BTFs (loaded lazily), searched in libbpf's order."""

    def __init__(
        self,
        vmlinux: BTF,
        modules: Sequence[tuple[str, BTF]] | Callable[[], Sequence[tuple[str, BTF]]] = (),
    ) -> None:
        self.vmlinux = vmlinux
        self._source = modules
        self._modules: list[tuple[str, BTF]] | None = None

    @classmethod
    def running(cls) -> KernelBTFs:
        """The running kernel's vmlinux BTF; module BTFs load on first need."""
        from pybpf.btf.core import CoreTarget

        target = CoreTarget.kernel()
        return cls(target.vmlinux, lambda: target.modules)

    @property
    def modules(self) -> list[tuple[str, BTF]]:
        """Module (name, split BTF) pairs, loaded on first use."""
        if self._modules is None:
            src = self._source
            self._modules = list(src() if callable(src) else src)
        return self._modules

    def find(self, name: str, kind: Kind) -> tuple[str, BTF, int] | None:
        """(btf name, btf, id) of the first ``kind`` named ``name``: vmlinux, then modules."""
        ids = self.vmlinux.find(name, kind)
        if ids:
            return "vmlinux", self.vmlinux, ids[0]
        for mod_name, btf in self.modules:
            own = [i for i in btf.find(name, kind) if i >= btf.start_id]
            if own:
                return mod_name, btf, own[0]
        return None


@dataclass(frozen=True, slots=True)
class KsymResolution:
    """How one ksym extern resolved.

    ``kind`` is ``"addr"`` (typeless: ``address``), ``"var"`` (typed variable: BTF
    ``btf_id`` of the VAR) or ``"kfunc"`` (``btf_id`` of the FUNC). ``btf_name`` is
    ``"vmlinux"`` or the module whose BTF holds it (the loader passes that module's
    BTF fd, via fd_array for kfunc calls). ``found`` is False for an absent weak one.
    """

    name: str
    kind: str
    found: bool
    address: int = 0
    btf_id: int = 0
    btf_name: str | None = None

    @property
    def in_module(self) -> bool:
        return self.btf_name not in (None, "vmlinux")


def _typeless(local: BTF, ext: KsymExtern) -> bool:
    return ext.type_id == 0 or local.resolve(ext.type_id) == 0


def resolve_ksym(
    local: BTF,
    ext: KsymExtern,
    kernel: KernelBTFs | None = None,
    kallsyms: Kallsyms | Callable[[], Kallsyms] | None = None,
) -> KsymResolution:
    """Resolve one ``.ksyms`` extern of object ``local`` (see module docstring)."""
    name = ext.name
    if not ext.is_func and _typeless(local, ext):
        syms = kallsyms() if callable(kallsyms) else kallsyms
        if syms is None:
            syms = read_kallsyms()
        addrs = syms.lookup(name)
        if len(addrs) > 1:
            raise ExternError(
                f"ksym {name!r} is ambiguous: {len(addrs)} addresses in kallsyms "
                f"({', '.join(hex(a) for a in addrs[:4])})"
            )
        if not addrs:
            if ext.is_weak:
                return KsymResolution(name, "addr", False)
            raise ExternError(
                f"ksym {name!r} (strong) is not in /proc/kallsyms (note: kernels without "
                "CONFIG_KALLSYMS_ALL list no data symbols; declare it __weak or typed)"
            )
        return KsymResolution(name, "addr", True, address=addrs[0])
    if kernel is None:
        raise ExternError(f"ksym {name!r} needs kernel BTF to resolve")
    if ext.is_func:
        return _kfunc(local, ext, kernel)
    return _var(local, ext, kernel)


def _var(local: BTF, ext: KsymExtern, kernel: KernelBTFs) -> KsymResolution:
    found = kernel.find(ext.name, Kind.VAR)
    if found is None:
        if ext.is_weak:
            return KsymResolution(ext.name, "var", False)
        raise ExternError(f"typed ksym {ext.name!r} (strong): no such variable in kernel BTF")
    btf_name, btf, vid = found
    var = btf.type(vid)
    assert isinstance(var, Var)
    local_id = local.resolve(ext.type_id)
    targ_id = btf.resolve(var.type)
    try:
        ok = types_are_compat(local, local_id, btf, targ_id)
    except BTFError:
        ok = False
    if not ok:
        raise ExternError(
            f"typed ksym {ext.name!r}: incompatible types, the object declares "
            f"[{local_id}] {local.type_name(local_id)!r} but {btf_name} has "
            f"[{targ_id}] {btf.type_name(targ_id)!r}"
        )
    return KsymResolution(ext.name, "var", True, btf_id=vid, btf_name=btf_name)


def _kfunc(local: BTF, ext: KsymExtern, kernel: KernelBTFs) -> KsymResolution:
    lookup = essential_name(ext.name)
    found = kernel.find(lookup, Kind.FUNC)
    if found is None:
        if ext.is_weak:
            return KsymResolution(ext.name, "kfunc", False)
        raise ExternError(
            f"kfunc {ext.name!r} (strong): not found in kernel or module BTF "
            "(declare it __weak and test bpf_ksym_exists() to make it optional)"
        )
    btf_name, btf, fid = found
    kfunc = btf.type(fid)
    lfunc = local.type(ext.type_id)
    assert isinstance(kfunc, Func)
    if not isinstance(lfunc, Func):
        raise ExternError(
            f"kfunc {ext.name!r}: object BTF [{ext.type_id}] is a {kind_str(lfunc.kind)}, "
            "not a FUNC"
        )
    try:
        ok = types_are_compat(local, lfunc.type, btf, kfunc.type)
    except BTFError:
        ok = False
    if not ok:
        if ext.is_weak:
            return KsymResolution(ext.name, "kfunc", False)
        raise ExternError(
            f"kfunc {ext.name!r}: prototype [{lfunc.type}] {local.type_name(lfunc.type)!r} "
            f"is incompatible with {btf_name}'s [{kfunc.type}] {btf.type_name(kfunc.type)!r}"
        )
    return KsymResolution(ext.name, "kfunc", True, btf_id=fid, btf_name=btf_name)


def resolve_ksyms(
    local: BTF,
    externs: Iterable[KsymExtern],
    kernel: KernelBTFs | None = None,
    kallsyms: Kallsyms | Callable[[], Kallsyms] | None = None,
) -> dict[str, KsymResolution]:
    """Resolve every ksym extern; kallsyms is read at most once, only if needed."""
    cache: list[Kallsyms] = []

    def syms() -> Kallsyms:
        if not cache:
            if kallsyms is None:
                cache.append(read_kallsyms())
            else:
                cache.append(kallsyms() if callable(kallsyms) else kallsyms)
        return cache[0]

    return {e.name: resolve_ksym(local, e, kernel, syms) for e in externs}

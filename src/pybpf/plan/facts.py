"""``KernelFacts``: what the planner needs to know about the kernel a plan is for.

Each fact is a value or a function asked once on first use, so that a load asks the
running kernel only what its object needs (kallsyms is read only for a typeless ksym,
the config only for a ``CONFIG_`` extern). :func:`pybpf.kernel.facts.running_facts`
fills them from the running kernel; :meth:`KernelFacts.from_btf` from a BTF file,
for planning without root against another kernel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from pybpf.btf.core import CoreTarget
    from pybpf.btf.reader import BTF
    from pybpf.kernel.kconfig import KconfigValue
    from pybpf.kernel.ksyms import Kallsyms, KernelBTFs

__all__ = ["FEATURES", "KernelFacts"]

T = TypeVar("T")

#: The feature probes a plan depends on, by name (``btf_kinds`` are the BTF ones).
FEATURES = ("btf", "mmapable_array", "bpf_cookie", "syscall_wrapper")

#: BTF kinds a kernel accepts, by the names ``pybpf.sys.features.btf_kinds`` uses.
BTF_KINDS = ("btf", "func", "func_global", "datasec", "float", "decl_tag", "type_tag", "enum64")


class _Lazy(Generic[T]):
    """A value, or a function producing it on first use (once)."""

    __slots__ = ("_done", "_fn", "_value")

    def __init__(self, source: T | Callable[[], T]) -> None:
        self._fn: Callable[[], T] | None = source if callable(source) else None
        self._value: Any = None if callable(source) else source
        self._done = not callable(source)

    @property
    def done(self) -> bool:
        return self._done

    def get(self) -> T:
        if not self._done:
            assert self._fn is not None
            self._value = self._fn()
            self._done = True
            self._fn = None
        return self._value  # type: ignore[no-any-return]


class KernelFacts:
    """The target kernel as the planner sees it: BTF, config, symbols, features, CPUs.

    Arguments are values or zero-argument functions (called once, on first need):

    - ``btf``: vmlinux BTF; ``modules``: (name, split BTF) of kernel modules;
    - ``kconfig``: ``CONFIG_*`` values (None: the kernel's config is unknown);
    - ``kallsyms``: kernel symbol addresses (a :class:`pybpf.kernel.ksyms.Kallsyms`);
    - ``features``: feature name (see :data:`FEATURES`) → present;
    - ``btf_kinds``: BTF kind name (see :data:`BTF_KINDS`) → accepted;
    - ``possible_cpus``: how many CPUs per-CPU maps hold; ``kernel_version``: the
      ``KERNEL_VERSION(a, b, c)`` code (0 unknown);
    - ``core_identity``: a text naming this exact vmlinux BTF until reboot (the
      running kernel's boot id, release and BTF size), under which CO-RE answers may
      be kept across processes (:mod:`pybpf.plan.corecache`); None keeps none.

    Example::

        facts = KernelFacts.from_btf("/sys/kernel/btf/vmlinux")
        plan = pybpf.plan.plan_object(pybpf.ObjectSpec.from_file("x.bpf.o"), facts)
    """

    def __init__(
        self,
        *,
        btf: BTF | Callable[[], BTF],
        modules: Sequence[tuple[str, BTF]] | Callable[[], Sequence[tuple[str, BTF]]] = (),
        kconfig: Mapping[str, KconfigValue] | Callable[[], Mapping[str, Any] | None] | None = None,
        kallsyms: Kallsyms | Callable[[], Kallsyms] | None = None,
        features: Mapping[str, bool] | Callable[[str], bool] | None = None,
        btf_kinds: Mapping[str, bool] | Callable[[], Mapping[str, bool]] | None = None,
        possible_cpus: int | Callable[[], int] = 1,
        kernel_version: int | Callable[[], int] = 0,
        name: str = "vmlinux",
        core_identity: str | Callable[[], str | None] | None = None,
    ) -> None:
        self.name = name
        self._core_identity = _Lazy(core_identity)
        self._btf = _Lazy(btf)
        self._modules = _Lazy(modules)
        self._kconfig = _Lazy(kconfig)
        self._kallsyms = _Lazy(kallsyms)
        self._features = features
        self._feature_cache: dict[str, bool] = {}
        self._btf_kinds = _Lazy(btf_kinds)
        self._cpus = _Lazy(possible_cpus)
        self._version = _Lazy(kernel_version)
        self._core: CoreTarget | None = None
        self._kbtfs: KernelBTFs | None = None

    @classmethod
    def from_btf(
        cls,
        btf: BTF | str | os.PathLike[str],
        *,
        modules: Sequence[tuple[str, BTF]] = (),
        kconfig: Mapping[str, KconfigValue] | None = None,
        kallsyms: Kallsyms | None = None,
        features: Mapping[str, bool] | None = None,
        possible_cpus: int = 2,
        kernel_version: int = 0,
    ) -> KernelFacts:
        """Facts of a kernel known only by its BTF (a file or a parsed ``BTF``).

        Features default to present (a kernel with BTF has them all but the
        syscall wrapper, which x86-64 kernels since 4.17 have too); symbols
        default to none, so a typeless ksym is unresolved.
        """
        from pybpf.btf.reader import BTF as _BTF

        name = "vmlinux"
        if not isinstance(btf, _BTF):
            name = os.fspath(btf)
            btf = _BTF.from_file(name)
        if kallsyms is None:
            from pybpf.kernel.ksyms import parse_kallsyms

            kallsyms = parse_kallsyms("")
        feats = dict.fromkeys(FEATURES, True)
        feats.update(features or {})
        return cls(
            btf=btf,
            modules=modules,
            kconfig=kconfig,
            kallsyms=kallsyms,
            features=feats,
            btf_kinds=dict.fromkeys(BTF_KINDS, True),
            possible_cpus=possible_cpus,
            kernel_version=kernel_version,
            name=name,
        )

    # -- the facts ---------------------------------------------------------------------

    @property
    def btf(self) -> BTF:
        """vmlinux BTF."""
        return self._btf.get()

    def btf_if_loaded(self) -> BTF | None:
        """vmlinux BTF if something asked for it already, else None (no parse)."""
        return self._btf.get() if self._btf.done else None

    @property
    def core_identity(self) -> str | None:
        """What CO-RE answers for this kernel are kept under (None: not kept)."""
        return self._core_identity.get()

    @property
    def modules(self) -> list[tuple[str, BTF]]:
        """Kernel module BTFs as (name, split BTF), loaded on first use."""
        return list(self._modules.get())

    @property
    def kconfig(self) -> Mapping[str, Any] | None:
        """``CONFIG_*`` values, or None when the kernel's config cannot be read."""
        return self._kconfig.get()

    @property
    def kallsyms(self) -> Kallsyms:
        """Kernel symbol addresses."""
        syms = self._kallsyms.get()
        if syms is None:
            from pybpf.kernel.ksyms import parse_kallsyms

            syms = parse_kallsyms("")
        return syms

    def has(self, feature: str) -> bool:
        """Whether the kernel has ``feature`` (one of :data:`FEATURES`)."""
        if feature not in FEATURES:
            raise KeyError(f"unknown kernel feature {feature!r} (known: {', '.join(FEATURES)})")
        found = self._feature_cache.get(feature)
        if found is None:
            src = self._features
            if src is None:
                found = True
            elif callable(src):
                found = bool(src(feature))
            else:
                found = bool(src.get(feature, True))
            self._feature_cache[feature] = found
        return found

    @property
    def btf_kinds(self) -> Mapping[str, bool]:
        """BTF kinds the kernel accepts (see :data:`BTF_KINDS`)."""
        kinds = self._btf_kinds.get()
        return kinds if kinds is not None else dict.fromkeys(BTF_KINDS, True)

    @property
    def possible_cpus(self) -> int:
        """How many CPUs a per-CPU map has slots for."""
        return self._cpus.get()

    @property
    def kernel_version(self) -> int:
        """``KERNEL_VERSION(a, b, c)`` of the kernel, 0 when unknown."""
        return self._version.get()

    # -- views for the resolvers -------------------------------------------------------

    def core_target(self) -> CoreTarget:
        """The CO-RE target: vmlinux, then module BTFs."""
        if self._core is None:
            from pybpf.btf.core import CoreTarget

            self._core = CoreTarget(self.btf, lambda: self.modules, name=self.name)
        return self._core

    def kernel_btfs(self) -> KernelBTFs:
        """vmlinux and module BTFs for ksym, kfunc and attach-target lookups."""
        if self._kbtfs is None:
            from pybpf.kernel.ksyms import KernelBTFs

            self._kbtfs = KernelBTFs(self.btf, lambda: self.modules)
        return self._kbtfs

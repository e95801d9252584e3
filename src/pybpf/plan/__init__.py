"""The planner: an ObjectSpec and the target kernel's facts in, a plain-data load plan out.

Pure (no syscalls, testable without root against any kernel's BTF):
``facts`` (:class:`KernelFacts`), ``model`` (the plan's data), ``planner``
(:func:`plan_object`), ``linker`` (a program with its subprograms) and
``btf_sanitize`` (BTF for the kernel's known kinds). :mod:`pybpf.loader.load`
executes a plan; :mod:`pybpf.kernel.facts` gathers the running kernel's facts.

Example::

    from pybpf.plan import KernelFacts, plan_object
    plan = plan_object(ObjectSpec.from_file("x.bpf.o"), KernelFacts.from_btf("vmlinux"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pybpf.plan.facts import KernelFacts
    from pybpf.plan.model import LoadPlan
    from pybpf.plan.planner import plan_object

__all__ = ["KernelFacts", "LoadPlan", "plan_object"]

# name -> module (imported on first use: ``pybpf.plan.model`` alone stays light)
_LAZY = {
    "KernelFacts": "pybpf.plan.facts",
    "LoadPlan": "pybpf.plan.model",
    "plan_object": "pybpf.plan.planner",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value

"""Every attach kind a section can name has its attach routine (``pybpf.link.attach.DISPATCH``).

The table is keyed by :class:`pybpf.elf.sections.AttachKind`: a kind added to the
section table without a routine fails here, not when a user first attaches one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

import pybpf
from pybpf.elf.sections import SECTION_DEFS, AttachKind
from pybpf.errors import NotSupportedError
from pybpf.link.attach import DISPATCH


def test_every_attach_kind_has_a_routine() -> None:
    missing = [k.name for k in AttachKind if k not in DISPATCH]
    assert missing == [], f"attach kinds without an attach routine: {missing}"
    assert all(callable(DISPATCH[k]) for k in AttachKind)


def test_every_section_rule_dispatches() -> None:
    """The section table's kinds are all in the table (the enum test's other side)."""
    kinds = {d.kind for d in SECTION_DEFS}
    assert kinds and kinds <= set(DISPATCH)


def test_network_routines_name_real_functions() -> None:
    """The lazily imported hook modules and functions exist (a typo fails here)."""
    targets = [t for r in DISPATCH.values() if (t := getattr(r, "target", None)) is not None]
    assert len(targets) >= 10
    for module, func in targets:
        fn: Callable[..., object] = getattr(importlib.import_module(module), func)
        assert callable(fn), (module, func)


def test_a_loaded_only_kind_says_what_to_do(bpf_obj: Callable[[str], Path]) -> None:
    """A ``SEC("syscall")`` program has no hook: attach() raises before touching the kernel."""
    with pybpf.open(bpf_obj("globals")) as obj:
        prog = obj.programs["compute"]
        assert prog.sec is not None and prog.sec.kind is AttachKind.NONE
        with pytest.raises(NotSupportedError, match=r"compute.*syscall.*test_run"):
            prog.attach()

"""Generate skeletons of the test objects into a temporary package and import them."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from skelobjects import OBJECTS, TOOLS_OBJECTS

from pybpf.skeleton import generate_file


@pytest.fixture(scope="session")
def skel_dir(bpf_objects: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The skeleton of every test object (and of the bootstrap tool) in one directory."""
    out = tmp_path_factory.mktemp("skel")
    paths = sorted(bpf_objects.glob("*.bpf.o"))
    assert {p.name.removesuffix(".bpf.o") for p in paths} >= set(OBJECTS)
    for path in paths:
        name = path.name.removesuffix(".bpf.o")
        (out / f"{name}_skel.py").write_text(generate_file(path))
    boot = generate_file(TOOLS_OBJECTS / "bootstrap.bpf.o")
    (out / "bootstrap_skel.py").write_text(boot)
    return out


@pytest.fixture(scope="session")
def skel(skel_dir: Path) -> Iterator[Callable[[str], ModuleType]]:
    """Import a generated skeleton module by object name (once per session)."""
    loaded: dict[str, ModuleType] = {}

    def get(name: str) -> ModuleType:
        if name not in loaded:
            modname = f"_pybpf_test_skel_{name}"
            spec = importlib.util.spec_from_file_location(modname, skel_dir / f"{name}_skel.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module  # dataclasses resolve annotations through it
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    yield get
    for name in loaded:
        sys.modules.pop(f"_pybpf_test_skel_{name}", None)

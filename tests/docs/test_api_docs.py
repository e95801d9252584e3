"""The public API documents itself: docstrings with examples, help() lists an
object's parts, and the API reference pages cover every public name."""

from __future__ import annotations

import inspect
import pydoc
from pathlib import Path

import pybpf

ROOT = Path(__file__).resolve().parents[2]


def _public() -> list[tuple[str, object]]:
    out = []
    for name in pybpf.__all__:
        obj = getattr(pybpf, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            out.append((name, obj))
    return out


def test_public_names_have_docstrings_with_an_example() -> None:
    names = _public()
    assert len(names) >= 10
    for name, obj in names:
        doc = inspect.getdoc(obj) or ""
        assert "Example" in doc or ">>>" in doc, f"pybpf.{name} has no example in its docstring"
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                fn = member.fget if isinstance(member, property) else member
                if inspect.isfunction(fn) or isinstance(member, classmethod | staticmethod):
                    target = fn.__func__ if isinstance(fn, classmethod | staticmethod) else fn
                    assert inspect.getdoc(target), f"pybpf.{name}.{attr} has no docstring"


def test_help_of_object_lists_maps_programs_globals() -> None:
    text = pydoc.render_doc(pybpf.Object, renderer=pydoc.plaintext)
    for part in ("maps", "programs", "globals"):
        assert f"``{part}``" in text or f"\n |  {part}" in text, part


def test_reference_pages_cover_every_public_name() -> None:
    ref = "\n".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))
    for name, obj in _public():
        qual = f"{obj.__module__}.{obj.__qualname__}"
        assert f"::: {qual}" in ref, f"no API reference entry for pybpf.{name} ({qual})"
    assert "::: pybpf.errors" in ref

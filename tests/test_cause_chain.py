"""Errors keep what caused them: no ``raise ... from None`` anywhere in pybpf.

``from None`` hides the exception that led to an error (the ``--debug`` traceback and
``__cause__`` lose it); a handler that translates an exception chains it with
``from exc`` instead, and the CLI shows only the message unless ``--debug``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pybpf

SRC = Path(pybpf.__file__).resolve().parent


def test_no_raise_from_none() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.cause, ast.Constant)
                and node.cause.value is None
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == [], f"raise ... from None (chain the cause: from exc): {found}"

"""One of each thing: the twins the architecture issue listed stay merged."""

from __future__ import annotations

import ast
from pathlib import Path

import pybpf

SRC = Path(pybpf.__file__).resolve().parent


def _constants(value: int) -> list[str]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value == value:
                out.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return out


def test_enotsupp_is_spelled_by_name() -> None:
    """The kernel's internal ENOTSUPP (524) is defined once, in sys/syscall.py."""
    assert _constants(524) == ["sys/syscall.py:" + _line_of("ENOTSUPP = 524")]


def _line_of(text: str) -> str:
    lines = (SRC / "sys" / "syscall.py").read_text().splitlines()
    return str(next(i for i, ln in enumerate(lines, 1) if ln.startswith(text)))


def test_one_btf_kind_enum_and_one_log_summariser() -> None:
    from pybpf.btf.types import Kind
    from pybpf.uapi.enums import BtfKind

    assert Kind is BtfKind
    defs = [
        f"{p.relative_to(SRC)}"
        for p in SRC.rglob("*.py")
        if "def summarize_log" in p.read_text() or "def _summary(" in p.read_text()
    ]
    assert defs == ["errors.py"]

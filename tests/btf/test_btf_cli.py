"""``pybpf btf``: raw dump identical to bpftool's; show prints members with offsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from btf_helpers import bpftool

from pybpf.cli.main import main


def test_dump_objects_like_bpftool(
    btf_objects: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for obj in btf_objects:
        assert main(["btf", "dump", str(obj), "--format", "raw"]) == 0
        assert capsys.readouterr().out == bpftool("btf", "dump", "file", str(obj)), obj


def test_dump_vmlinux_like_bpftool(kernel: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["btf", "dump"]) == 0
    assert capsys.readouterr().out == bpftool("btf", "dump", "file", "/sys/kernel/btf/vmlinux")


def test_show_json_and_text(bpf_obj, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    obj = str(bpf_obj("btf_types"))
    assert main(["btf", "show", "btf_bits", "--file", obj, "--json"]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert info["kind"] == "STRUCT" and info["size"] == 16
    d = next(m for m in info["members"] if m["name"] == "d")
    assert (d["bit_offset"], d["bitfield_size"]) == (15, 40)
    e = next(m for m in info["members"] if m["name"] == "e")
    assert (e["offset"], e["size"]) == (7, 1)
    assert main(["btf", "show", "btf_event", "--file", obj]) == 0
    out = capsys.readouterr().out
    assert "struct btf_event size=176" in out and "comm" in out and "char[16]" in out
    assert main(["btf", "show", "1", "--file", obj]) == 0
    assert "PTR" in capsys.readouterr().out
    assert main(["btf", "show", "no_such_type", "--file", obj]) == 1
    assert "no type named" in capsys.readouterr().err


def test_show_vmlinux_task_struct(kernel: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["btf", "show", "task_struct", "--kind", "struct", "--json"]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert info["name"] == "task_struct"
    assert any(m["name"] == "pid" and m["type"] == "pid_t" for m in info["members"])


def test_c_format_hook(bpf_obj, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    rc = main(["btf", "dump", str(bpf_obj("btf_types")), "--format", "c"])
    try:
        import pybpf.btf.cdump  # noqa: F401
    except ModuleNotFoundError:
        assert rc == 1 and "not available" in capsys.readouterr().err
    else:
        assert rc == 0 and "struct btf_event" in capsys.readouterr().out

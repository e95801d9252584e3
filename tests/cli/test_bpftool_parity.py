"""bpftool's ways of naming objects (id / name / pinned), its prog list columns,
--version, -j/-p/--json/--pretty on every command, and shell completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, check: bool = True, env: dict[str, str] | None = None) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", "pybpf", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture()
def pinned(kernel: None, bpf_obj: Any) -> Iterator[tuple[pybpf.Object, str, str]]:
    """hist_maps loaded, its program and hm_hash map pinned under unique paths."""
    tag = f"pybpf_parity_{os.getpid()}"
    prog_pin, map_pin = f"/sys/fs/bpf/{tag}_prog", f"/sys/fs/bpf/{tag}_map"
    with pybpf.open(bpf_obj("hist_maps")) as obj:
        obj.load()
        obj.programs["hm_noop"].pin(prog_pin)
        obj.maps["hm_hash"].pin(map_pin)
        try:
            yield obj, prog_pin, map_pin
        finally:
            for p in (prog_pin, map_pin):
                if os.path.exists(p):
                    os.unlink(p)


def test_prog_show_by_id_name_and_pin(pinned: tuple[pybpf.Object, str, str]) -> None:
    obj, prog_pin, _ = pinned
    prog = obj.programs["hm_noop"]
    by_id = json.loads(cli("prog", "show", "id", str(prog.id), "--json").stdout)
    by_bare_id = json.loads(cli("prog", "show", str(prog.id), "--json").stdout)
    by_pin = json.loads(cli("prog", "show", "pinned", prog_pin, "--json").stdout)
    by_name = json.loads(cli("prog", "show", "name", "hm_noop", "--json").stdout)
    assert by_id["id"] == by_bare_id["id"] == by_pin["id"] == prog.id
    assert prog.id in [r["id"] for r in by_name]
    # bpftool's prog list fields
    assert abs(by_id["loaded_at"] - time.time()) < 600
    assert by_id["uid"] == os.getuid()
    assert by_id["bytes_memlock"] > 0
    assert by_id["run_cnt"] == 0 and by_id["run_time_ns"] == 0
    text = cli("prog", "list").stdout
    header = text.splitlines()[0].split()
    for col in ("loaded_at", "uid", "memlock", "run_time_ns", "run_cnt"):
        assert col in header
    dump = cli("prog", "dump", "xlated", "pinned", prog_pin).stdout
    assert "exit" in dump


def test_map_verbs_by_id_name_and_pin(pinned: tuple[pybpf.Object, str, str]) -> None:
    obj, _, map_pin = pinned
    m = obj.maps["hm_hash"]
    cli("map", "update", "pinned", map_pin, "key", "7", "value", "70")
    cli("map", "update", "id", str(m.id), "8", "80")
    assert m[7] == 70 and m[8] == 80
    got = json.loads(cli("map", "lookup", "pinned", map_pin, "key", "7", "--json").stdout)
    assert got == {"key": 7, "value": 70}
    dump = json.loads(cli("map", "dump", "pinned", map_pin, "--json").stdout)
    assert sorted((e["key"], e["value"]) for e in dump) == [(7, 70), (8, 80)]
    show = json.loads(cli("map", "show", "pinned", map_pin, "--json").stdout)
    assert show["id"] == m.id and show["bytes_memlock"] > 0
    named = json.loads(cli("map", "show", "name", "hm_hash", "--json").stdout)
    assert m.id in [r["id"] for r in named]
    assert json.loads(cli("map", "delete", "pinned", map_pin, "key", "7", "--json").stdout) is None
    assert 7 not in m
    miss = cli("map", "dump", "name", f"nosuch{os.getpid()}", check=False)
    assert miss.returncode == 1 and "find map named" in miss.stderr
    bad = cli("map", "lookup", "pinned", map_pin, check=False)
    assert bad.returncode == 1 and "expected KEY" in bad.stderr


def test_version_and_json_everywhere() -> None:
    assert cli("--version").stdout.strip() == f"pybpf {pybpf.__version__}"
    out = cli("-p", "include-dir").stdout
    assert out.startswith("{\n  ")  # --pretty indents
    assert json.loads(out) == {"output": f"{ROOT / 'src' / 'pybpf' / 'include'}\n", "status": 0}
    assert json.loads(cli("include-dir", "--json").stdout)["status"] == 0
    # every leaf command accepts --json and --pretty
    from pybpf.cli.main import build_parser

    def leaves(p: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        import argparse

        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, p
            return
        for name, child in subs[0].choices.items():
            yield from leaves(child, (*path, name))

    found = list(leaves(build_parser(), ()))
    assert len(found) > 15
    for path, p in found:
        opts = {s for a in p._actions for s in a.option_strings}
        assert {"--json", "--pretty"} <= opts, path


def test_shell_completion(tmp_path: Path) -> None:
    out = tmp_path / "completions"
    env = dict(
        os.environ,
        _ARGCOMPLETE="1",
        _ARGCOMPLETE_IFS="\n",
        COMP_LINE="pybpf ma",
        COMP_POINT="8",
        _ARGCOMPLETE_STDOUT_FILENAME=str(out),
    )
    subprocess.run([sys.executable, "-m", "pybpf"], env=env, timeout=60, check=False)
    assert out.read_text().split() == ["map"]
    env["COMP_LINE"] = env["COMP_LINE"] = "pybpf map "
    env["COMP_POINT"] = str(len(env["COMP_LINE"]))
    subprocess.run([sys.executable, "-m", "pybpf"], env=env, timeout=60, check=False)
    words = out.read_text().split()
    assert {"list", "show", "dump", "lookup", "update", "delete", "pin"} <= set(words)

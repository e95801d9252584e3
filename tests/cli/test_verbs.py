"""``pybpf prog|map|link|tracepoint|build`` on real kernel objects, checked against
bpftool and the kernel's own answers."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import need_tool

import pybpf
from pybpf.kernel import introspect

pytestmark = pytest.mark.usefixtures("kernel")


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pybpf", *args], capture_output=True, text=True, timeout=120
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture()
def loaded(bpf_obj) -> Iterator[pybpf.Object]:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("cli_run"))
    obj.globals["targ_pid"] = os.getpid()
    obj.globals["enabled"] = True
    obj.load()
    obj.attach()
    for a in (1, 2, 300):
        with contextlib.suppress(ProcessLookupError):
            os.getpgid(a)
    try:
        yield obj
    finally:
        obj.close()


def test_prog_list_matches_bpftool(loaded: pybpf.Object) -> None:
    need_tool("bpftool", "the reference for prog list")
    pid = loaded.programs["on_getpgid"].id
    ours = {p["id"]: p for p in json.loads(cli("prog", "list", "--json").stdout)}
    ref = json.loads(
        subprocess.run(["bpftool", "prog", "list", "--json"], capture_output=True, text=True).stdout
    )
    ref_by_id = {p["id"]: p for p in ref}
    assert pid in ours and pid in ref_by_id
    for key in ("name", "type", "tag", "gpl_compatible", "bytes_xlated", "map_ids", "btf_id"):
        assert ours[pid][key] == ref_by_id[pid][key], key
    # every program both saw (others may come and go meanwhile) agrees on name and type
    for i in set(ours) & set(ref_by_id):
        assert (ours[i]["name"], ours[i]["type"]) == (ref_by_id[i]["name"], ref_by_id[i]["type"])
    show = json.loads(cli("prog", "show", str(pid), "--json").stdout)
    assert show["id"] == pid and show["name"] == "on_getpgid" and show["type"] == "tracepoint"


def test_prog_dump_xlated_and_jited(loaded: pybpf.Object) -> None:
    prog = loaded.programs["on_getpgid"]
    text = cli("prog", "dump", "xlated", str(prog.id)).stdout.splitlines()
    assert len(text) >= 10
    assert text[-1].split(": ", 1)[1] == "exit"
    assert all(": " in line for line in text)
    assert any("call " in line for line in text)
    jited = json.loads(cli("prog", "dump", "jited", str(prog.id), "--json").stdout)
    assert jited["bytes_jited"] == prog.info().jited_prog_len == len(bytes.fromhex(jited["hex"]))


def _map_id(obj: pybpf.Object, name: str) -> int:
    ids = set(obj.programs["on_getpgid"].info().map_ids)
    return next(m.id for m in introspect.maps() if m.id in ids and m.name == name)


def test_map_dump_lookup_update_delete_pin(loaded: pybpf.Object, tmp_path: Path) -> None:
    sizes = _map_id(loaded, "sizes")
    dump = json.loads(cli("map", "dump", str(sizes), "--json").stdout)
    assert sorted((e["key"], e["value"]) for e in dump) == sorted(
        dict(loaded.maps["sizes"]).items()
    )
    assert {e["key"] for e in dump} == {1, 2, 9}
    text = cli("map", "dump", str(sizes)).stdout.splitlines()
    assert text[-1] == "Found 3 elements"
    assert cli("map", "lookup", str(sizes), "9").stdout.strip() == "key: 9  value: 1"
    cli("map", "update", str(sizes), "40", "0x1234")
    assert loaded.maps["sizes"][40] == 0x1234
    cli("map", "delete", str(sizes), "40")
    assert 40 not in loaded.maps["sizes"]
    miss = cli("map", "lookup", str(sizes), "40", check=False)
    assert miss.returncode == 1 and "No such file or directory" in miss.stderr
    by_key = _map_id(loaded, "by_key")
    key = json.dumps(
        {
            "pid": os.getpid(),
            "comm": loaded.maps["by_key"].keys().__iter__().__next__().comm.decode(),
        }
    )
    got = json.loads(cli("map", "lookup", str(by_key), key, "--json").stdout)
    assert got["value"] == 3 and got["key"]["pid"] == os.getpid()
    bad = cli("map", "update", str(by_key), '{"nope": 1}', "1", check=False)
    assert bad.returncode == 1 and "has no member 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr
    pin = Path("/sys/fs/bpf") / f"pybpf_cli_map_{os.getpid()}"
    try:
        cli("map", "pin", str(sizes), str(pin))
        with pybpf.Map.from_pin(pin) as m:
            assert m.name == "sizes"
    finally:
        pin.unlink(missing_ok=True)


def test_link_list_and_detach(loaded: pybpf.Object) -> None:
    pid = loaded.programs["on_getpgid"].id
    links = [ln for ln in json.loads(cli("link", "list", "--json").stdout) if ln["prog_id"] == pid]
    assert len(links) == 1
    assert links[0]["type"] == "perf_event" and links[0]["tp_name"] == "sys_enter_getpgid"
    # the kernel cannot detach perf_event links by id: a clear one-line error says so
    refused = cli("link", "detach", str(links[0]["id"]), check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == (
        f"pybpf: error: detach link {links[0]['id']}: Operation not supported (ENOTSUP): "
        "perf_event links cannot be detached by id (hint: the link goes away when the "
        "process holding it closes it (or unpin it))"
    )
    missing = cli("link", "detach", "999999999", check=False)
    assert missing.returncode == 1 and missing.stderr.startswith("pybpf: error: ")


def test_tracepoint_format_c_and_python() -> None:
    c = cli("tracepoint", "format", "syscalls/sys_enter_execve").stdout
    assert c.splitlines() == [
        "/* syscalls/sys_enter_execve */",
        "struct trace_event_raw_sys_enter_execve_ctx {",
        "\t__u16 common_type;",
        "\t__u8 common_flags;",
        "\t__u8 common_preempt_count;",
        "\t__s32 common_pid;",
        "\t__s32 __syscall_nr;",
        "\tchar __pad0[4];",
        "\t__u64 filename; /* const char * filename */",
        "\t__u64 argv; /* const char *const * argv */",
        "\t__u64 envp; /* const char *const * envp */",
        "};",
    ]
    py = cli("tracepoint", "format", "sched:sched_process_exec", "--python").stdout
    ns: dict[str, object] = {}
    exec(compile(py, "<format>", "exec"), ns)
    cls = ns["SchedProcessExec"]
    from pybpf.kernel.tracefs import root

    fmt = (root() / "events/sched/sched_process_exec/format").read_text()
    for line in fmt.splitlines():
        if "field:" in line and "pid_t pid;" in line:
            off = int(line.split("offset:")[1].split(";")[0])
            assert cls.pid.offset == off  # type: ignore[attr-defined]
    assert ctypes.sizeof(cls) >= 16  # type: ignore[arg-type]
    bad = cli("tracepoint", "format", "nosuch/thing", check=False)
    assert bad.returncode == 1 and "pybpf tracepoint list" in bad.stderr


def test_tracepoint_list_pattern() -> None:
    out = cli("tracepoint", "list", "xdp:xdp_exc*").stdout.split()
    assert out == ["xdp:xdp_exception"]


def test_build_compiles_a_loadable_object(tmp_path: Path) -> None:
    need_tool("clang-19", "pybpf build runs it")
    src = tmp_path / "mini.bpf.c"
    src.write_text(
        '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n'
        'char LICENSE[] SEC("license") = "GPL";\n__u64 calls;\n'
        'SEC("tp/syscalls/sys_enter_getppid")\n'
        "int count(struct trace_event_raw_sys_enter *ctx) { calls++; return 0; }\n"
    )
    out = cli("build", str(src)).stdout
    assert out.strip() == f"built {tmp_path / 'mini.bpf.o'}"
    with pybpf.load(tmp_path / "mini.bpf.o") as obj:
        obj.attach()
        os.getppid()
        assert obj.globals["calls"] >= 1
    bad = tmp_path / "bad.bpf.c"
    bad.write_text("int x(\n")
    proc = cli("build", str(bad), check=False)
    assert proc.returncode == 1
    assert (
        proc.stderr.splitlines()[-1]
        == f"pybpf: error: {bad}: clang failed (exit 1); see its messages above"
    )

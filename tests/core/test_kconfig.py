"""``.kconfig`` externs: config parsing, value encoding, and the real kernel's values."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from core_btf_builder import BTFBuilder

from pybpf.btf import BTF
from pybpf.elf.externs import ExternKind, collect_externs, kconfig_size
from pybpf.elf.reader import ElfObject
from pybpf.errors import ExternError
from pybpf.kernel.kconfig import (
    fill_kconfig,
    kernel_version,
    kernel_version_code,
    parse_kconfig,
    read_kernel_config,
)

CONFIG_TEXT = """\
#
# Automatically generated file; DO NOT EDIT.
CONFIG_CC_VERSION_TEXT="clang version 19"
CONFIG_HZ=250
CONFIG_BPF=y
CONFIG_MODULE_THING=m
# CONFIG_NOT_SET is not set
CONFIG_NEG=-5
CONFIG_HEXV=0x1f
CONFIG_SHORT_STR="ab"
CONFIG_BIG=300
"""


@dataclass(frozen=True)
class Ext:
    name: str
    type_id: int
    offset: int
    is_weak: bool = False


def test_parse_kconfig() -> None:
    cfg = parse_kconfig(CONFIG_TEXT)
    assert cfg["CONFIG_HZ"] == "250" and cfg["CONFIG_BPF"] == "y"
    assert cfg["CONFIG_CC_VERSION_TEXT"] == '"clang version 19"'
    assert "CONFIG_NOT_SET" not in cfg
    with pytest.raises(ExternError, match="cfg:2: no '='"):
        parse_kconfig("# x\nCONFIG_BROKEN\n", source="cfg")
    with pytest.raises(ExternError, match="no value for CONFIG_EMPTY"):
        parse_kconfig("CONFIG_EMPTY=\n")


def test_kernel_version_rules() -> None:
    assert kernel_version_code(6, 18, 300) == (6 << 16) + (18 << 8) + 255
    plain = kernel_version("6.18.44-fc", "#1 SMP", ubuntu_signature="")
    assert plain == kernel_version_code(6, 18, 44)
    deb = kernel_version("4.19.0-22-amd64", "#1 SMP Debian 4.19.260-1 (2022-09-29)", "")
    assert deb == kernel_version_code(4, 19, 260)
    ubu = kernel_version("5.15.0-1", "#1", ubuntu_signature="Ubuntu 5.15.0-1.2-generic 5.15.131")
    assert ubu == kernel_version_code(5, 15, 131)
    assert kernel_version("garbage", "#1", "") == 0


def kconfig_btf() -> tuple[BTF, dict[str, int]]:
    b = BTFBuilder()
    ids = {
        "bool": b.int("_Bool", 1, boolean=True),
        "tri": b.enum("libbpf_tristate", [("TRI_NO", 0), ("TRI_YES", 1), ("TRI_MODULE", 2)]),
        "int": b.int("int", 4, signed=True),
        "u32": b.int("unsigned int", 4),
        "u8": b.int("unsigned char", 1),
        "u64": b.int("unsigned long", 8),
    }
    char = b.int("char", 1, signed=True, char=True)
    ids["str4"] = b.array(char, 4)
    ids["str32"] = b.array(char, 32)
    return b.build(), ids


def test_fill_all_value_kinds() -> None:
    btf, t = kconfig_btf()
    exts = [
        Ext("CONFIG_BPF", t["bool"], 0),
        Ext("CONFIG_MODULE_THING", t["tri"], 4),
        Ext("CONFIG_HZ", t["int"], 8),
        Ext("CONFIG_NEG", t["int"], 12),
        Ext("CONFIG_HEXV", t["u8"], 16),
        Ext("CONFIG_NOT_SET", t["u32"], 20, is_weak=True),
        Ext("LINUX_KERNEL_VERSION", t["u32"], 24),
        Ext("LINUX_HAS_BPF_COOKIE", t["bool"], 28),
        Ext("LINUX_HAS_SYSCALL_WRAPPER", t["bool"], 29),
        Ext("LINUX_FUTURE_THING", t["u64"], 32, is_weak=True),
        Ext("CONFIG_CC_VERSION_TEXT", t["str32"], 40),
        Ext("CONFIG_BPF", t["tri"], 72),
    ]
    buf = fill_kconfig(
        btf,
        exts,
        80,
        config=parse_kconfig(CONFIG_TEXT),
        kernel_version=0x6122C,
        has_bpf_cookie=True,
    )
    le = int.from_bytes
    assert buf[0] == 1 and le(buf[4:8], "little") == 2
    assert le(buf[8:12], "little") == 250 and le(buf[12:16], "little", signed=True) == -5
    assert buf[16] == 0x1F and le(buf[20:24], "little") == 0
    assert le(buf[24:28], "little") == 0x6122C and buf[28] == 1 and buf[29] == 0
    assert buf[32:40] == bytes(8)
    assert buf[40:72] == b"clang version 19".ljust(32, b"\0")
    assert le(buf[72:76], "little") == 1


@pytest.mark.parametrize(
    ("ext_name", "type_key", "message"),
    [
        ("CONFIG_MISSING", "u32", "'CONFIG_MISSING' \\(strong\\) is not set"),
        ("CONFIG_MODULE_THING", "bool", "needs enum libbpf_tristate"),
        ("CONFIG_CC_VERSION_TEXT", "int", "needs a char array"),
        ("CONFIG_HZ", "str32", "needs an integer type"),
        ("CONFIG_HZ", "bool", "needs an integer type"),
        ("CONFIG_NEG", "u32", "does not fit in 4 bytes"),
        ("CONFIG_BIG", "u8", "does not fit in 1 bytes"),
        ("LINUX_SOMETHING", "u32", "unrecognized"),
    ],
)
def test_fill_errors_name_the_extern(ext_name: str, type_key: str, message: str) -> None:
    btf, t = kconfig_btf()
    with pytest.raises(ExternError, match=message) as exc:
        fill_kconfig(btf, [Ext(ext_name, t[type_key], 0)], 32, config=parse_kconfig(CONFIG_TEXT))
    assert repr(ext_name) in str(exc.value)


def test_string_fits_exactly_with_nul() -> None:
    btf, t = kconfig_btf()
    buf = fill_kconfig(
        btf, [Ext("CONFIG_SHORT_STR", t["str4"], 0)], 4, config=parse_kconfig(CONFIG_TEXT)
    )
    assert buf == b"ab\0\0"


def test_long_string_is_truncated_with_nul() -> None:
    """libbpf cuts a string longer than the array to its size less one, NUL-terminated."""
    btf, t = kconfig_btf()
    cfg = parse_kconfig(CONFIG_TEXT)
    buf = fill_kconfig(btf, [Ext("CONFIG_CC_VERSION_TEXT", t["str4"], 0)], 4, config=cfg)
    assert buf == b"cla\0"


# ----------------------------------------------------------------------------- real kernel


def _config_text() -> str:
    try:
        return gzip.decompress(Path("/proc/config.gz").read_bytes()).decode()
    except OSError:
        return Path(f"/boot/config-{os.uname().release}").read_text()


def test_read_kernel_config_matches_the_file() -> None:
    text = _config_text()
    cfg = read_kernel_config()
    lines = [ln for ln in text.splitlines() if ln.startswith("CONFIG_")]
    assert len(cfg) == len(lines) > 100
    for ln in lines[:: max(1, len(lines) // 50)]:
        name, _, value = ln.partition("=")
        assert cfg[name] == value


def _libbpf_kconfig(obj: Path) -> tuple[bytes, dict[str, str]]:
    """The .kconfig map bytes libbpf built for ``obj`` and its debug log of values."""
    pin = Path("/sys/fs/bpf") / f"pybpf_kcfg_{uuid.uuid4().hex[:8]}"
    maps = Path(f"{pin}_maps")
    try:
        proc = subprocess.run(
            ["bpftool", "-d", "prog", "loadall", str(obj), str(pin), "pinmaps", str(maps)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        dump = subprocess.run(
            [
                "bpftool",
                "-j",
                "map",
                "dump",
                "pinned",
                str(maps / f"{obj.name.split('.')[0]}_kconfig"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        subprocess.run(["rm", "-rf", str(pin), str(maps)], check=False)
    values = dict(re.findall(r"extern \(kcfg\) '(\w+)': set to (\S+)", proc.stderr))
    m = re.search(r'"value":\[([^\]]*)\]', dump.stdout)
    assert m, f"no .kconfig map dump: {dump.stdout or dump.stderr}\n{proc.stderr[-2000:]}"
    raw = bytes(int(x.strip('" '), 16) for x in m[1].split(","))
    return raw, values


def test_core_object_kconfig_equals_kernel_and_libbpf(bpf_obj, kernel: None) -> None:  # type: ignore[no-untyped-def]
    obj = bpf_obj("core")
    elf = ElfObject.from_file(obj)
    sec = elf.section(".BTF")
    assert sec is not None
    btf = BTF.from_bytes(sec.data)
    externs = collect_externs(elf, btf)
    kcfg = [e for e in externs.values() if e.kind is ExternKind.KCONFIG]
    theirs, logged = _libbpf_kconfig(obj)
    # The two feature flags are the loader's probes; take libbpf's verdicts as inputs.
    cookie = int(logged["LINUX_HAS_BPF_COOKIE"], 16) == 1
    wrapper = int(logged["LINUX_HAS_SYSCALL_WRAPPER"], 16) == 1
    ours = fill_kconfig(
        btf, kcfg, kconfig_size(externs), has_bpf_cookie=cookie, has_syscall_wrapper=wrapper
    )
    assert ours == theirs

    # And the values are what the kernel's own config file says.
    text = _config_text()

    def cfg(name: str) -> str:
        m = re.search(rf"^{name}=(.*)$", text, re.M)
        assert m, name
        return m[1]

    def at(name: str, size: int, signed: bool = False) -> int:
        e = externs[name]
        return int.from_bytes(ours[e.offset : e.offset + size], "little", signed=signed)

    assert at("CONFIG_HZ", 4, True) == int(cfg("CONFIG_HZ"))
    assert at("CONFIG_NR_CPUS", 4, True) == int(cfg("CONFIG_NR_CPUS"))
    assert at("CONFIG_BPF_JIT", 1) == (cfg("CONFIG_BPF_JIT") == "y")
    assert at("CONFIG_BPF_SYSCALL", 4) == {"y": 1, "m": 2, "n": 0}[cfg("CONFIG_BPF_SYSCALL")]
    host = externs["CONFIG_DEFAULT_HOSTNAME"]
    assert ours[host.offset : host.offset + 16].rstrip(b"\0").decode() == cfg(
        "CONFIG_DEFAULT_HOSTNAME"
    ).strip('"')
    assert at("CONFIG_PYBPF_NOT_A_REAL_OPTION", 4) == 0
    assert at("LINUX_KERNEL_VERSION", 4) == kernel_version()

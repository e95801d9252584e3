""".kconfig externs against libbpf: the same bytes in the .kconfig map, or both refuse.

The reference loader linked with the system libbpf (``libbpf_load.c``) loads
``parity_kconfig.bpf.o`` with each case's values as libbpf's ``kconfig`` option and
prints the map; pybpf loads the same object with the same values as ``kconfig=``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import pybpf
from pybpf.errors import ExternError

pytestmark = pytest.mark.usefixtures("kernel")

BASE = {
    "CONFIG_PYBPF_STR": '"ab"',
    "CONFIG_PYBPF_BOOL": "y",
    "CONFIG_PYBPF_TRI": "m",
    "CONFIG_PYBPF_CHAR": "m",
    "CONFIG_PYBPF_U8": "200",
    "CONFIG_PYBPF_S16": "-2",
    "CONFIG_PYBPF_U16": "0xffff",
    "CONFIG_PYBPF_S32": "-2147483648",
    "CONFIG_PYBPF_U32": "010",
    "CONFIG_PYBPF_S64": "-9",
    "CONFIG_PYBPF_U64": "0xdead000000000000",
}

# (extern, value): each case changes one value of BASE (None drops it: weak -> 0)
CASES = [
    ("CONFIG_PYBPF_STR", '"abc"'),
    ("CONFIG_PYBPF_STR", '"abcd"'),  # one byte too long: truncated, NUL-terminated
    ("CONFIG_PYBPF_STR", '"a much longer string"'),
    ("CONFIG_PYBPF_STR", '""'),
    ("CONFIG_PYBPF_STR", '"'),  # see CURRENT_LIBBPF
    ("CONFIG_PYBPF_STR", '"unterminated'),
    ("CONFIG_PYBPF_STR", "y"),
    ("CONFIG_PYBPF_STR", "12"),
    ("CONFIG_PYBPF_STR", None),
    ("CONFIG_PYBPF_BOOL", "n"),
    ("CONFIG_PYBPF_BOOL", "m"),
    ("CONFIG_PYBPF_BOOL", "1"),
    ("CONFIG_PYBPF_BOOL", '"y"'),
    ("CONFIG_PYBPF_BOOL", "yes"),  # only the first letter counts
    ("CONFIG_PYBPF_TRI", "y"),
    ("CONFIG_PYBPF_TRI", "n"),
    ("CONFIG_PYBPF_TRI", "2"),
    ("CONFIG_PYBPF_CHAR", "y"),
    ("CONFIG_PYBPF_CHAR", "65"),
    ("CONFIG_PYBPF_CHAR", "-128"),
    ("CONFIG_PYBPF_CHAR", "128"),
    ("CONFIG_PYBPF_CHAR", '"a"'),
    ("CONFIG_PYBPF_U8", "255"),
    ("CONFIG_PYBPF_U8", "256"),
    ("CONFIG_PYBPF_U8", "-1"),
    ("CONFIG_PYBPF_U8", "0377"),
    ("CONFIG_PYBPF_U8", "08"),
    ("CONFIG_PYBPF_S16", "32767"),
    ("CONFIG_PYBPF_S16", "32768"),
    ("CONFIG_PYBPF_S16", "-32769"),
    ("CONFIG_PYBPF_S16", "+7"),
    ("CONFIG_PYBPF_S16", " 7"),
    ("CONFIG_PYBPF_S16", "7 "),
    ("CONFIG_PYBPF_S16", "-0x10"),
    ("CONFIG_PYBPF_S16", "-18446744073709551615"),  # strtoull: wraps to 1
    ("CONFIG_PYBPF_U16", "65536"),
    ("CONFIG_PYBPF_U16", "0x"),
    ("CONFIG_PYBPF_U16", "0XfF"),
    ("CONFIG_PYBPF_S32", "2147483648"),
    ("CONFIG_PYBPF_S32", "4294967295"),
    ("CONFIG_PYBPF_U32", "4294967295"),
    ("CONFIG_PYBPF_U32", "4294967296"),
    ("CONFIG_PYBPF_U32", "abc"),
    ("CONFIG_PYBPF_S64", "18446744073709551615"),
    ("CONFIG_PYBPF_S64", "18446744073709551616"),
    ("CONFIG_PYBPF_U64", "-1"),
    ("CONFIG_PYBPF_U64", "0x10000000000000000"),
    ("CONFIG_PYBPF_U64", "m"),
]

# Where the installed libbpf 1.1 has a bug that later libbpf fixed, the answer of
# current libbpf (read from its libbpf.c, 1.8-dev): a lone quote is refused since
# 1.2 (1.1 takes its length as -1 and copies bytes past the value).
CURRENT_LIBBPF = {("CONFIG_PYBPF_STR", '"'): "ERR"}


def _values(name: str, value: str | None) -> dict[str, str]:
    vals = dict(BASE)
    if value is None:
        del vals[name]
    else:
        vals[name] = value
    return vals


def _libbpf(libbpf_load: Callable[..., str], obj: Path, vals: dict[str, str]) -> str:
    return libbpf_load("-k", "".join(f"{k}={v}\n" for k, v in vals.items()), obj)


def _pybpf(obj_path: Path, vals: dict[str, str]) -> str:
    obj = pybpf.open(obj_path, kconfig=vals)
    try:
        obj.load()
    except ExternError:
        return "ERR"
    with obj:
        return bytes(obj.maps[".kconfig"].lookup(0)).hex()


@pytest.mark.parametrize(("name", "value"), CASES, ids=[f"{n[13:]}={v}" for n, v in CASES])
def test_kconfig_matches_libbpf(
    libbpf_load: Callable[..., str], bpf_obj, name: str, value: str | None
) -> None:  # type: ignore[no-untyped-def]
    path = bpf_obj("parity_kconfig")
    vals = _values(name, value)
    want = CURRENT_LIBBPF.get((name, value)) or _libbpf(libbpf_load, path, vals)
    got = _pybpf(path, vals)
    assert got == ("ERR" if want.startswith("ERR") else want)


def test_long_kernel_string_is_truncated(libbpf_load: Callable[..., str], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """CONFIG_DEFAULT_HOSTNAME ("(none)" on this kernel) into char[1] is "" as in libbpf."""
    path = bpf_obj("parity_kconfig")
    obj = pybpf.open(path, kconfig=BASE)
    ext = obj.spec.externs["CONFIG_DEFAULT_HOSTNAME"]
    with obj.load():
        image = bytes(obj.maps[".kconfig"].lookup(0))
    assert image[ext.offset] == 0
    assert image.hex() == _libbpf(libbpf_load, path, BASE)


def test_strong_missing_is_an_error(libbpf_load: Callable[..., str], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """A strong extern missing from the config: both refuse (here CONFIG_HZ is overridden
    with a value that does not fit, as the kernel always sets it)."""
    path = bpf_obj("parity_kconfig")
    vals = dict(BASE, CONFIG_HZ="0x100000000")
    assert _libbpf(libbpf_load, path, vals).startswith("ERR")
    with pytest.raises(ExternError, match="CONFIG_HZ"):
        pybpf.open(path, kconfig=vals).load()

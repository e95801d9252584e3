"""``__ulong`` BTF map attributes (one-value ENUM/ENUM64), as current libbpf reads them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import pybpf
from pybpf.sys.info import map_info
from pybpf.uapi.enums import MapType

pytestmark = pytest.mark.usefixtures("kernel")


def test_ulong_map_extra_reaches_the_kernel(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("parity_map_attrs"))
    assert obj.spec.maps["bloom"].type == MapType.BLOOM_FILTER
    assert obj.spec.maps["bloom"].map_extra == 5  # 32-bit ENUM
    assert obj.spec.maps["arena"].map_extra == 1 << 44  # ENUM64
    with obj.load():
        assert map_info(obj.maps["bloom"].fd).map_extra == 5
        assert map_info(obj.maps["arena"].fd).map_extra == 1 << 44
        assert obj.programs["probe_bloom"].test_run(bytes(64)).retval == 0
        assert obj.globals["found"] == 1  # the bloom filter works with 5 hashes


def test_libbpf_1_1_refuses_ulong(libbpf_load: Callable[..., str], bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """libbpf 1.1 wants a __uint (PTR) for map_extra; __ulong arrived in libbpf 1.4
    (get_map_field_long in libbpf.c)."""
    assert libbpf_load("-o", bpf_obj("parity_map_attrs")).startswith("ERR")

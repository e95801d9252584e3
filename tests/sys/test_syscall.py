"""The bpf(2) choke point: errors are typed, name the operation and carry hints."""

from __future__ import annotations

import errno
import resource
import subprocess
import sys
import textwrap

import pytest

from pybpf.errors import KernelError, MapError
from pybpf.sys import maps, memlock, syscall
from pybpf.sys.attrs import MapCreateAttr
from pybpf.uapi.enums import Cmd, MapType

pytestmark = pytest.mark.usefixtures("kernel")


def test_errors_are_typed_and_name_the_operation() -> None:
    with pytest.raises(MapError) as exc:
        maps.map_create(MapType.HASH, 0, 4, 1, name="zero_key")
    err = exc.value
    assert isinstance(err, KernelError) and isinstance(err, OSError)
    assert err.errno == errno.EINVAL
    assert "create map 'zero_key' (HASH)" in str(err)
    assert err.hint and "argument" in err.hint


def test_raw_entry_point_without_op_names_the_command() -> None:
    attr = MapCreateAttr(map_type=MapType.HASH, key_size=4, value_size=4, max_entries=0)
    with pytest.raises(KernelError) as exc:
        syscall.bpf(Cmd.MAP_CREATE, attr)
    assert "bpf(MAP_CREATE)" in str(exc.value)


def test_unknown_trailing_attr_bytes_give_e2big_hint() -> None:
    import ctypes

    class Bigger(ctypes.Structure):
        _fields_ = (("attr", MapCreateAttr), ("future", ctypes.c_uint64 * 64))

    big = Bigger()
    big.attr.map_type, big.attr.key_size, big.attr.value_size = MapType.ARRAY, 4, 4
    big.attr.max_entries = 1
    big.future[63] = 1  # a field no kernel knows
    with pytest.raises(KernelError) as exc:
        syscall.bpf(Cmd.MAP_CREATE, big)
    assert exc.value.errno == errno.E2BIG
    assert "older than a field" in str(exc.value)


def test_unprivileged_user_gets_eperm_with_capability_hint() -> None:
    code = textwrap.dedent(
        """
        import os
        from pybpf.sys import features, maps, memlock  # noqa: F401  (imported while we can)
        from pybpf.errors import KernelError
        os.setgroups([]); os.setgid(65534); os.setuid(65534)  # nobody, after imports
        try:
            maps.map_create(1, 4, 4, 1)
        except KernelError as e:
            print(e.errno, e.hint)
        else:
            print("created")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith(f"{errno.EPERM} "), out.stdout + out.stderr
    assert "CAP_BPF" in out.stdout


def test_memlock_left_alone_on_memcg_kernels_and_bumped_on_request() -> None:
    before = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    memlock.ensure_memlock()
    assert memlock.memcg_accounting()
    assert resource.getrlimit(resource.RLIMIT_MEMLOCK) == before
    # in a child (so this process keeps its limit); lowering is always permitted
    target = min(4 << 20, before[1])
    code = (
        "import resource; from pybpf.sys.memlock import bump_memlock_rlimit;"
        f"bump_memlock_rlimit({target}); print(resource.getrlimit(resource.RLIMIT_MEMLOCK))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str((target, target))

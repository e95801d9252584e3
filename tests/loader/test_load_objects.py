"""Loading the test objects into the real kernel: globals, subprograms, callbacks,
legacy maps, every map type, tail calls, verifier errors, and clean-up."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import pybpf
from pybpf.errors import BPFError, MapError, VerifierError
from pybpf.kernel import introspect
from pybpf.uapi.enums import MapType, ProgType

pytestmark = pytest.mark.usefixtures("kernel")


def test_globals_rodata_changes_behaviour_and_bss_is_live(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("globals"))
    assert obj.globals["multiplier"] == 1
    assert obj.globals["greeting"] == b"hello"  # .data.custom
    assert obj.globals["rodata_cfg"] == 3  # .rodata.cfg
    obj.globals["multiplier"] = 3
    with obj.load():
        run = obj.programs["compute"].test_run()
        # global_add_one(scale(5)) with scale(x) = x * multiplier + rodata_cfg
        assert run.retval == 5 * 3 + 3 + 1
        assert obj.globals["bss_counter"] == 1
        assert obj.globals["data_counter"] == 7 + (2 * 3 + 3)
        assert obj.globals["loop_sum"] == sum(range(10))  # bpf_loop callback
        obj.globals["data_counter"] = 100  # .data written live from Python
        obj.programs["compute"].test_run()
        assert obj.globals["data_counter"] == 100 + 9
        assert obj.globals["bss_counter"] == 2
        obj.maps["counts"].update({5: 10, 6: 32})
        obj.programs["compute"].test_run()
        assert obj.globals["map_total"] == 42  # bpf_for_each_map_elem callback
        with pytest.raises(BPFError, match=r"\.rodata is read-only after load"):
            obj.globals["multiplier"] = 5
        assert obj.globals["multiplier"] == 3


def test_rodata_default_differs_from_set_value(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("globals")) as obj:
        assert obj.programs["compute"].test_run().retval == 5 * 1 + 3 + 1


def test_legacy_samples_object_loads_and_counts(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("legacy_tracex"))
    assert obj.spec.kern_version  # the "version" section
    assert obj.spec.btf is None  # samples/bpf style: no BTF at all
    with obj.load():
        m = obj.maps["getpid_count"]
        assert m.info().type == MapType.HASH
        links = obj.attach()
        assert [lk.program for lk in links] == ["count_getpid"]
        assert "bpf_prog3" in obj.attach_skipped  # kprobe: this kernel has none
        assert "CONFIG_KPROBES" in obj.attach_skipped["bpf_prog3"]
        key = os.getpid().to_bytes(4, "little")
        before = int.from_bytes(m.get(key, b"\0" * 8), "little")
        for _ in range(7):
            os.getpid()
        after = int.from_bytes(m[key], "little")
        assert after - before == 7


def test_every_map_type_is_created(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    spec = pybpf.ObjectSpec.from_file(bpf_obj("maps"))
    with pybpf.load(bpf_obj("maps"), pin_root="/sys/fs/bpf") as obj:
        for name, ms in spec.maps.items():
            m = obj.maps[name]
            info = m.info()
            assert info.type == ms.type, name
            assert info.key_size == m.key_size, name
        # map-in-map initialised from .values: slot 3 holds inner_b
        obj.maps["inner_b"][0] = 1234
        assert obj.programs["read_inner"].test_run().retval == 1234
        inner = obj.maps["m_array_of_maps"].get_inner(3)
        assert inner is not None and inner.info().id == obj.maps["inner_b"].info().id
        inner.close()
    Path("/sys/fs/bpf/m_pinned").unlink(missing_ok=True)


def test_perf_event_array_defaults_to_possible_cpus(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    from pybpf.sys.cpus import possible_cpus

    with pybpf.load(bpf_obj("maps")) as obj:
        assert obj.maps["m_perf"].info().max_entries == len(possible_cpus())
    Path("/sys/fs/bpf/m_pinned").unlink(missing_ok=True)


@pytest.mark.parametrize(("slot", "expected"), [(0, 99), (1, 11), (2, 22), (3, 99)])
def test_tail_calls_through_prog_array_values(bpf_obj, slot: int, expected: int) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("tailcall")) as obj:
        obj.globals["slot"] = slot  # live .bss write
        run = obj.programs["entry"].test_run(b"\0" * 64)
        assert run.retval == expected


def _only(obj: pybpf.Object, name: str) -> None:
    for p in obj.programs.values():
        p.autoload = p.name == name


def test_verifier_error_names_the_c_source_line(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("verifier_fail"))
    _only(obj, "null_deref")
    with pytest.raises(VerifierError) as info:
        obj.load()
    err = info.value
    assert err.program == "null_deref"
    assert err.errno == errno.EACCES
    assert "verifier_fail.bpf.c:18" in str(err)
    assert "MISSING NULL CHECK" in str(err)
    assert "invalid mem access" in str(err)
    assert "processed" in err.log  # the whole log is kept
    obj.close()


def test_long_verifier_log_arrives_whole(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    logs = []
    for size in (256, 16 * 1024 * 1024):
        obj = pybpf.open(bpf_obj("verifier_fail"))
        _only(obj, "long_log")
        obj.programs["long_log"].log_size = size
        with pytest.raises(VerifierError) as info:
            obj.load()
        logs.append(info.value.log)
        assert "LONG LOG FAILURE" in str(info.value)
        obj.close()
    small, big = logs
    assert len(small) > 256 * 10
    assert small.rstrip().endswith(big.rstrip().splitlines()[-1])
    assert small.count("\n") == big.count("\n")


def test_failed_load_leaves_nothing_behind(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """Counts only what this process created (ids seen at creation, its fds and pins),
    so other processes loading BPF meanwhile do not matter."""
    from leftovers import Leftovers

    root = Path(f"/sys/fs/bpf/pybpf_{os.getpid()}_failed_load")
    with Leftovers(pins=[root]) as lo:
        obj = pybpf.open(bpf_obj("maps"), pin_root=root)
        obj.programs["read_inner"].prog_type = ProgType.XDP  # wrong context: the load fails
        obj.programs["read_inner"].log_size = 1 << 20
        with pytest.raises(BPFError):
            obj.load()
        obj.close()
    assert lo.created["map"]  # maps were made before the program failed; all are gone
    assert not (root / "m_pinned").exists()  # the pin it made is gone
    lo.check()
    root.rmdir()


def _settled(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Assert ``check`` becomes true: the kernel frees programs' maps after an RCU
    grace period, so ids can outlive the last fd by a moment."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "kernel objects left behind"
        time.sleep(0.2)


def test_200_objects_load_and_close_without_leaks(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    import gc

    path = bpf_obj("globals")
    data = Path(path).read_bytes()
    fds = len(os.listdir("/proc/self/fd"))
    prog_ids: set[int] = set()
    map_ids: set[int] = set()
    for i in range(200):
        obj = pybpf.load(data if i % 2 else path, name="globals")
        obj.globals["bss_counter"] = i  # touch the mmap'ed .bss
        prog_ids.update(p.id for p in obj.programs.values())
        map_ids.update(m.id for m in obj.maps.values())
        if i % 3 == 0:
            obj.close()
        else:
            with obj:
                pass
    gc.collect()
    assert len(prog_ids) == 2 * 200 and len(map_ids) == 7 * 200
    assert len(os.listdir("/proc/self/fd")) == fds
    # every program and map those objects created is gone from the kernel
    _settled(lambda: not prog_ids & {p.id for p in introspect.programs()})
    _settled(lambda: not map_ids & {m.id for m in introspect.maps()})


def test_program_introspection(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    with pybpf.load(bpf_obj("globals")) as obj:
        prog = obj.programs["compute"]
        info = prog.info()
        assert info.name == "compute"
        assert info.type == ProgType.SYSCALL
        assert len(prog.xlated()) % 8 == 0 and prog.xlated()
        assert any(p.id == info.id for p in introspect.programs())
        again = pybpf.Program.from_id(info.id)
        assert again.info().tag == info.tag
        again.close()
        m = pybpf.Map.from_id(obj.maps["counts"].id)
        assert m.key_size == 4 and m.value_size == 8
        m.close()


def test_map_api_on_hash_and_flags(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    from pybpf.uapi.enums import UpdateFlags

    with pybpf.load(bpf_obj("maps")) as obj:
        h = obj.maps["m_hash"]
        h[1] = 10
        h.update(2, 20, flags=UpdateFlags.NOEXIST)
        with pytest.raises(MapError) as info:
            h.update(2, 21, flags=UpdateFlags.NOEXIST)
        assert info.value.errno == errno.EEXIST
        with pytest.raises(MapError):
            h.update(3, 30, flags=UpdateFlags.EXIST)
        assert 1 in h and 3 not in h
        assert sorted(h) == [1, 2] and len(h) == 2
        assert dict(h.items()) == {1: 10, 2: 20}
        assert h.lookup_and_delete(1) == 10 and 1 not in h
        del h[2]
        with pytest.raises(KeyError):
            del h[2]
        assert h.update_batch((k, k * k) for k in range(16)) == 16
        assert dict(h.items()) == {k: k * k for k in range(16)}
        assert h.delete_batch(range(8)) == 8
        assert sorted(h) == list(range(8, 16))
        h.clear()
        assert len(h) == 0
        assert h.get(99) is None
        assert h.lookup(8, raw=True) is None

        pc = obj.maps["m_percpu_hash"]
        from pybpf.sys.cpus import possible_cpus

        ncpu = len(possible_cpus())
        pc[7] = list(range(ncpu))
        assert pc[7] == list(range(ncpu))

        st = obj.maps["m_stack"]
        for v in (1, 2, 3):
            st.push(v)
        assert [st.peek(), st.pop(), st.pop(), st.pop(), st.pop()] == [3, 3, 2, 1, None]


def test_pinning_reuses_a_compatible_pinned_map(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    pin = Path("/sys/fs/bpf/m_pinned")
    pin.unlink(missing_ok=True)
    with pybpf.load(bpf_obj("maps")) as obj:
        assert pin.exists()
        obj.maps["m_pinned"][1] = 42
        first_id = obj.maps["m_pinned"].id
    assert pin.exists()  # pinned maps outlive the object, by design
    with pybpf.load(bpf_obj("maps")) as obj:
        assert obj.maps["m_pinned"].id == first_id
        assert obj.maps["m_pinned"][1] == 42
    with pybpf.Map.from_pin(pin) as m:
        assert m.id == first_id
    pin.unlink()


def test_max_entries_override_before_load(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("globals"))
    obj.maps["counts"].max_entries = 4096
    obj.maps["rb"].max_entries = 1 << 16
    with obj.load():
        assert obj.maps["counts"].info().max_entries == 4096
        assert obj.maps["rb"].info().max_entries == 1 << 16


def test_map_not_created_yet_says_so(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("globals"))
    with pytest.raises(BPFError, match="not in the kernel yet"):
        obj.maps["counts"][1] = 2
    with pytest.raises(BPFError, match="not loaded"):
        _ = obj.programs["compute"].fd
    obj.close()


def test_unknown_names_list_what_exists(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("globals"))
    with pytest.raises(KeyError, match="known: counts, rb"):
        obj.maps["nope"]
    with pytest.raises(KeyError, match="no global variable"):
        obj.globals["nope"]
    obj.close()


def test_value_size_override_before_load(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    obj = pybpf.open(bpf_obj("maps"))
    st = obj.maps["m_stack_trace"]
    st.value_size = 32 * 8  # shallower stack traces, as libbpf-tools configure them
    st.max_entries = 64
    with obj.load():
        info = st.info()
        assert (info.value_size, info.max_entries) == (256, 64)
        with pytest.raises(BPFError, match="sizes are fixed"):
            st.value_size = 8
    Path("/sys/fs/bpf/m_pinned").unlink(missing_ok=True)


def test_codecs_are_built_on_first_use_and_follow_the_shape(bpf_obj) -> None:  # type: ignore[no-untyped-def]
    """A map's key/value codecs are laid out from BTF when first used, not at open/load
    (a map only BPF code touches never pays for it), and again after its shape changes."""
    from pybpf.values.codec import LayoutCodec

    obj = pybpf.open(bpf_obj("maps"))
    h = obj.maps["m_hash"]
    with obj.load():
        assert "key_codec" not in vars(h) and "value_codec" not in vars(h)
        h[7] = 9
        assert h[7] == 9 and isinstance(h.key_codec, LayoutCodec)
        assert "key_codec" in vars(h) and "value_codec" in vars(h)
        assert not hasattr(h, "no_such_attribute")
    reopened = pybpf.open(bpf_obj("maps"))
    st = reopened.maps["m_stack_trace"]
    before = st.value_codec
    st.value_size = 32 * 8
    assert st.value_codec is not before and st.value_codec.size == 256
    reopened.close()
    Path("/sys/fs/bpf/m_pinned").unlink(missing_ok=True)

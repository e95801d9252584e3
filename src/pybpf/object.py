"""``Object``: a BPF object file opened from its spec, loaded into the kernel.

``pybpf.open(path)`` reads the object (nothing in the kernel yet); settings and
``.rodata`` values can then be changed; ``obj.load()`` creates maps, relocates and
loads programs; ``obj.attach()`` attaches what the section names describe;
``obj.close()`` (or leaving ``with``) releases everything. A failed load leaves
nothing behind: every fd, map, program and pin it created is released.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pybpf._gcpause import pausing
from pybpf.errors import BPFError
from pybpf.map import Map
from pybpf.program import Program
from pybpf.values.variables import Globals

if TYPE_CHECKING:
    from pybpf.btf import BTF
    from pybpf.elf.spec import ObjectSpec
    from pybpf.events.perfbuf import PerfBuffer
    from pybpf.events.ringbuf import RingBuffer
    from pybpf.link.base import Link
    from pybpf.loader.load import Handles
    from pybpf.plan.facts import KernelFacts
    from pybpf.plan.model import LoadPlan, ObjectSettings

__all__ = ["Object", "load", "open"]

T = TypeVar("T")


class ByName(Mapping[str, T]):
    """A read-only mapping by C name that says what exists when a name is wrong (an
    object's maps or programs; owning and closing them is the Object's job)."""

    def __init__(self, what: str, items: dict[str, T]) -> None:
        self._what = what
        self._items = items

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError as exc:
            known = ", ".join(self._items) or "none"
            raise KeyError(f"no {self._what} {name!r} (known: {known})") from exc

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<{self._what}s: {', '.join(self._items)}>"


class Object:
    """An opened (and, after :meth:`load`, loaded) BPF object.

    Made by :func:`pybpf.open` (nothing in the kernel yet) or :func:`pybpf.load`.
    Its parts, by their C names:

    - ``maps``: every map (``obj.maps["counts"]``, a :class:`pybpf.Map`), including
      the global-data maps ``.rodata``, ``.data``, ``.bss``;
    - ``programs``: every program (``obj.programs["handle_exec"]``, a
      :class:`pybpf.Program`);
    - ``globals``: global variables by name (``obj.globals["min_duration_ns"]``):
      ``.rodata`` ones are set before :meth:`load`, ``.data``/``.bss`` ones are
      read and written live after it;
    - ``spec``: the :class:`pybpf.ObjectSpec` read from the file; ``name``; ``loaded``;
    - ``plan``: after :meth:`load`, the :class:`pybpf.plan.model.LoadPlan` it applied;
      ``handles``: the kernel objects it holds besides maps and programs.

    ``load()`` is three steps: the kernel's facts (:mod:`pybpf.kernel.facts`), the
    pure plan (:func:`pybpf.plan.planner.plan_object`) and its execution
    (:func:`pybpf.loader.load.execute`).

    Example::

        obj = pybpf.open("bootstrap.bpf.o")
        obj.globals["min_duration_ns"] = 50_000_000
        obj.load()
        obj.attach()
        print(dict(obj.maps["exec_start"].items()))
        obj.close()
    """

    #: Maps by C name (read-only mapping of :class:`pybpf.Map`).
    maps: ByName[Map]
    #: Programs by C name (read-only mapping of :class:`pybpf.Program`).
    programs: ByName[Program]
    #: Global variables by C name (``.rodata`` before load, ``.data``/``.bss`` live).
    globals: Globals

    def __init__(
        self,
        spec: ObjectSpec,
        *,
        name: str | None = None,
        btf_custom_path: str | os.PathLike[str] | None = None,
        pin_root: str | os.PathLike[str] = "/sys/fs/bpf",
        mount_bpffs: bool | None = None,
        kconfig: Mapping[str, Any] | None = None,
        log_level: int = 0,
        verbose: bool = False,
    ) -> None:
        self.spec = spec
        self.name = name or spec.name  # one rule: elf.spec.object_name (libbpf's)
        self.btf_custom_path = btf_custom_path
        self.pin_root = Path(pin_root)
        #: mount a bpffs on pin_root when it is not on one (True; the mount stays after
        #: the process exits), never (False), or only at an empty /sys/fs/bpf (None)
        self.mount_bpffs = mount_bpffs
        self.kconfig_overrides = dict(kconfig or {})
        self.log_level = log_level
        self.verbose = verbose
        self.loaded = False
        self._closed = False
        #: True once the object's BTF is loaded into the kernel; False before load, for an
        #: object without BTF, and when the kernel refused it (then ``btf_error`` says why).
        self.btf_loaded = False
        self.btf_error: str | None = None
        #: the plan the last load applied (None before load)
        self.plan: LoadPlan | None = None
        #: the kernel objects of the load besides maps' and programs' fds (None before)
        self.handles: Handles | None = None
        self._facts: KernelFacts | None = None
        self._links: list[Link] = []
        self._images: dict[str, bytearray] = {}
        self.attach_skipped: dict[str, str] = {}
        self.core_results: dict[str, list[Any]] = {}

        maps: dict[str, Map] = {}
        for mname, ms in spec.maps.items():
            m = Map.from_spec(ms, spec.btf, name=mname)
            maps[mname] = m
            if ms.is_data and ms.data:  # zero-filled ones (.bss) are made on first use
                self._images[ms.section] = bytearray(ms.data)
        self.maps: ByName[Map] = ByName("map", maps)

        progs: dict[str, Program] = {}
        for pname, ps in spec.programs.items():
            p = Program(
                pname,
                ps.prog_type,
                section=ps.section,
                sec=ps.sec,
                expected_attach_type=ps.expected_attach_type,
                attach_target=ps.attach_target,
            )
            p.object = self
            progs[pname] = p
        self.programs: ByName[Program] = ByName("program", progs)
        self.globals = Globals(spec, self._section_buffer)

    # -- lifetime ------------------------------------------------------------------------

    @pausing
    def load(self) -> Object:
        """Create the maps, relocate and load every autoload program."""
        if self._closed:
            raise BPFError(f"object {self.name!r} is closed")
        if self.loaded:
            raise BPFError(f"object {self.name!r} is already loaded")
        from pybpf.loader.load import Handles, execute
        from pybpf.plan.planner import plan_object

        self.handles = handles = Handles(
            name=self.name, pin_root=self.pin_root, mount_bpffs=self.mount_bpffs, log=self._log
        )
        try:
            self.plan = plan = plan_object(self.spec, self.facts, self.settings())
            self.core_results = dict(plan.core)
            for func, results in plan.core.items():
                for r in results:
                    self._log(f"{func}: {r}")
            execute(plan, self.maps, self.programs, handles, file=self.spec.file)
        except BaseException:
            self.btf_error = handles.btf_error
            self._release(unpin=True)
            raise
        self.btf_loaded = handles.btf_fd is not None
        self.btf_error = handles.btf_error
        self.loaded = True
        return self

    def settings(self) -> ObjectSettings:
        """What the user set before load, as the planner takes it (maps, programs, globals)."""
        from pybpf.plan.model import MapSettings, ObjectSettings, ProgramSettings

        maps = {
            n: MapSettings(m.max_entries, m.flags, m.key_size, m.value_size, m.autocreate, m.pin_path)
            for n, m in self.maps.items()
        }
        progs = {
            n: ProgramSettings(
                p.prog_type,
                p.expected_attach_type,
                p.attach_target,
                autoload=p.autoload,
                flags=p.flags,
                log_level=p.log_level,
                log_size=p.log_size,
                attach_btf_id=p.attach_btf_id,
                instructions=p.edited_instructions,
            )
            for n, p in self.programs.items()
        }
        images = {sec: bytes(img) for sec, img in self._images.items()}
        return ObjectSettings(
            self.name, maps, progs, images, dict(self.kconfig_overrides), self.log_level
        )

    @property
    def facts(self) -> KernelFacts:
        """The kernel this object loads into, as the planner sees it (asked lazily)."""
        if self._facts is None:
            from pybpf.kernel.facts import running_facts

            self._facts = running_facts(self.btf_custom_path)
        return self._facts

    @pausing
    def attach(self) -> list[Link]:
        """Attach every program whose section names its target (like a skeleton's attach).

        Programs that cannot be auto-attached are skipped and reported in
        ``obj.attach_skipped`` (name → reason).
        """
        from pybpf.link.attach import auto_attach

        if not self.loaded:
            self.load()
        links, skipped = auto_attach(self)
        self._links.extend(links)
        self.attach_skipped = skipped
        for name, why in skipped.items():
            self._log(f"not auto-attaching {name!r}: {why}")
        return links

    def own_link(self, link: Link) -> Link:
        """Close ``link`` with this object (as if :meth:`attach` had made it); returns it."""
        self._links.append(link)
        return link

    def detach(self) -> None:
        """Detach every link made by :meth:`attach`."""
        from pybpf.link.base import close_links

        errors = close_links(self._links)
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Detach, unmap and close everything this object holds (pins stay pinned)."""
        if self._closed:
            return
        self._closed = True
        self._release(unpin=False)

    def _release(self, *, unpin: bool) -> None:
        from pybpf.link.base import close_links

        errors: list[BaseException] = list(close_links(self._links))
        self._links.clear()
        if self.handles is not None:  # links and mmaps first, then the fds under them
            errors += self.handles.release(unpin=unpin)
        for p in self.programs.values():
            p.close()
        for m in self.maps.values():
            m.close()
        if errors:
            raise errors[0]

    def __enter__(self) -> Object:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("loaded" if self.loaded else "opened")
        return (
            f"<Object {self.name!r} {state}: {len(self.programs)} programs, {len(self.maps)} maps>"
        )

    # -- global data -----------------------------------------------------------------------

    def _section_buffer(self, section: str, *, write: bool = False) -> Any:
        """The bytes of a data section: the initial image before load, the mmap after."""
        if self.loaded:
            mm = self.handles.mmaps.get(section) if self.handles is not None else None
            if mm is not None:
                if write and self._is_frozen(section):
                    raise BPFError(
                        f"{section} is read-only after load: set const volatile variables "
                        "before obj.load()"
                    )
                return mm
            if write:
                raise BPFError(f"{section} cannot be written after load (no mmap)")
            m = self._data_map(section)
            return bytearray(m.lookup(0, raw=True) or b"")
        image = self._images.get(section)
        if image is None:
            ms = self._data_map_spec(section)  # BPFError if there is no such section
            image = self._images[section] = bytearray(ms.data.ljust(ms.value_size, b"\0"))
        return image

    def _is_frozen(self, section: str) -> bool:
        ms = self._data_map_spec(section)
        return bool(ms.is_readonly)

    def _data_map_spec(self, section: str) -> Any:
        for ms in self.spec.maps.values():
            if ms.section == section and ms.is_data:
                return ms
        raise BPFError(f"no data section {section!r} in {self.name!r}")

    def _data_map(self, section: str) -> Map:
        return self.maps[self._data_map_spec(section).name]

    # -- kernel BTF ------------------------------------------------------------------------

    @property
    def kernel_btf(self) -> BTF:
        """The running kernel's BTF (or ``btf_custom_path``), loaded once."""
        return self.facts.btf

    def module_btfs(self) -> list[tuple[str, BTF]]:
        """Kernel module BTFs (split on vmlinux), loaded once on first need."""
        return self.facts.modules

    def _log(self, msg: str) -> None:
        """Loader debug output: logger "pybpf" (INFO, on stderr, with ``verbose=True``)."""
        from pybpf._log import debug

        debug(self.verbose, "%s: %s", self.name, msg)

    # -- events ----------------------------------------------------------------------------

    def _event_decoder(self, event_type: str | int | None) -> Any:
        if event_type is None:
            return None
        from pybpf.btf.layout import Layout

        btf = self.spec.btf
        if btf is None:
            raise BPFError(f"object {self.name!r} has no BTF: cannot decode {event_type!r}")
        if isinstance(event_type, int):
            type_id = event_type
        else:
            from pybpf.btf.named import type_id_by_name

            type_id = type_id_by_name(btf, event_type, owner=self.name)
        return Layout.for_type(btf, type_id).decoder()

    def ringbuf(
        self, name: str, callback: Any = None, *, event_type: str | int | None = None
    ) -> RingBuffer[Any]:
        """A reader of ring buffer map ``name``, decoding records as BTF ``event_type``."""
        from pybpf.events.ringbuf import LOST_MAP, RingBuffer

        lost = self.maps.get(LOST_MAP)
        rb: RingBuffer[Any] = RingBuffer(
            self.maps[name].fd,
            callback,
            decoder=self._event_decoder(event_type),
            lost_map=lost.fd if lost is not None and not lost.closed else None,
            lost_key=name,
        )
        rb.btf = self.spec.btf  # numpy_dtype="event" by BTF name
        return rb

    def perfbuf(
        self,
        name: str,
        callback: Any = None,
        *,
        event_type: str | int | None = None,
        lost_callback: Any = None,
        page_cnt: int = 8,
    ) -> PerfBuffer[Any]:
        """A reader of perf event array ``name``, decoding samples as BTF ``event_type``."""
        from pybpf.events.perfbuf import PerfBuffer

        pb: PerfBuffer[Any] = PerfBuffer(
            self.maps[name].fd,
            callback,
            lost_callback,
            page_cnt=page_cnt,
            decoder=self._event_decoder(event_type),
        )
        pb.btf = self.spec.btf  # batch(numpy_dtype="event") by BTF name
        return pb


@pausing
def open(
    src: str | os.PathLike[str] | bytes | bytearray | memoryview | list[Any] | tuple[Any, ...],
    **options: Any,
) -> Object:
    """Open a BPF object file (or its bytes): read it, put nothing in the kernel yet.

    A list of objects is linked into one first (``pybpf.open([main, lib])``, see
    :mod:`pybpf.linker`).

    Example::

        obj = pybpf.open("bootstrap.bpf.o")
        obj.globals["min_duration_ns"] = 10**6   # before load
        obj.load()
    """
    from pybpf.elf.spec import ObjectSpec

    if isinstance(src, list | tuple):
        from pybpf.linker import link_objects

        paths = [s if isinstance(s, bytes) else os.fspath(s) for s in src]
        files = [p for p in paths if isinstance(p, str)]
        if files and not options.get("name"):
            options["name"] = _obj_stem(files[0])
        data = link_objects(paths)
        spec = ObjectSpec.from_bytes(
            data, name=options.get("name"), file=" + ".join(files) if files else None
        )
    elif isinstance(src, bytes | bytearray | memoryview):
        spec = ObjectSpec.from_bytes(bytes(src), name=options.get("name"))
    else:
        spec = ObjectSpec.from_file(os.fspath(src))
    return Object(spec, **options)


def _obj_stem(path: str) -> str:
    """The object name a path gives (``main`` for ``main.bpf.o``)."""
    from pybpf.elf.spec import object_name

    return object_name(path)


def load(
    src: str | os.PathLike[str] | bytes | bytearray | memoryview | list[Any] | tuple[Any, ...],
    **options: Any,
) -> Object:
    """Open and load a BPF object; use as ``with pybpf.load(path) as obj:``.

    Example::

        with pybpf.load("prog.bpf.o") as obj:
            obj.attach()
    """
    obj = open(src, **options)
    try:
        return obj.load()
    except BaseException:
        obj.close()
        raise

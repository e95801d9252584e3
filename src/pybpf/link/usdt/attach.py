"""Attach a program to USDT probes, filling the spec maps of libbpf's usdt.bpf.h.

Each call site of ``provider:name`` becomes a uprobe at the site's file offset
(with the semaphore as its ``ref_ctr_offset``). Sites sharing an argument string
share one spec id; the spec goes into ``__bpf_usdt_specs[id]`` and the uprobe's
BPF cookie is the id (on kernels without cookies ``__bpf_usdt_ip_to_spec_id``
maps the site's absolute address to it instead). Closing the link detaches the
uprobes, clears the map entries and frees the ids.
"""

from __future__ import annotations

import errno
import os
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pybpf.errors import AttachError, BPFError, NotSupportedError, ObjectError
from pybpf.link.base import Link, LinkGroup
from pybpf.link.uprobe_resolve import resolve_binary
from pybpf.link.usdt.notes import NOTE_SECTION, SpecLayout, UsdtProbe, elf_type, find_probes
from pybpf.uapi.enums import UpdateFlags

if TYPE_CHECKING:
    from pybpf.map import Map

__all__ = ["IP_MAP", "SPECS_MAP", "UsdtLink", "attach_usdt"]

SPECS_MAP = "__bpf_usdt_specs"
IP_MAP = "__bpf_usdt_ip_to_spec_id"
_REF_CTR_FORMAT = "/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset"


class _SpecIds:
    """Spec ids of one ``__bpf_usdt_specs`` map: the next unused one and a free list."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.next = 0
        self.free: list[int] = []

    def take(self) -> int | None:
        if self.free:
            return self.free.pop()
        if self.next >= self.capacity:
            return None
        self.next += 1
        return self.next - 1

    def give_back(self, ids: Iterable[int]) -> None:
        self.free.extend(ids)


_ALLOCATORS: dict[int, _SpecIds] = {}


def _allocator(specs: Map) -> _SpecIds:
    key = id(specs)
    alloc = _ALLOCATORS.get(key)
    if alloc is None:
        alloc = _ALLOCATORS[key] = _SpecIds(specs.max_entries)
        weakref.finalize(specs, _ALLOCATORS.pop, key, None)
    return alloc


class UsdtLink(LinkGroup):
    """The uprobes of one USDT attach; closing also clears its spec and ip map entries."""

    def __init__(
        self,
        links: Iterable[Link],
        program: str,
        target: str,
        *,
        specs: Map,
        ip_map: Map,
        spec_ids: Sequence[int],
        ips: Sequence[int],
        probes: Sequence[UsdtProbe],
    ) -> None:
        super().__init__(links, "usdt", program, target)
        self._specs = specs
        self._ip_map = ip_map
        self.spec_ids: tuple[int, ...] = tuple(spec_ids)
        self.ips: tuple[int, ...] = tuple(ips)
        self.probes: tuple[UsdtProbe, ...] = tuple(probes)

    def _detach(self) -> None:
        try:
            super()._detach()
        finally:
            _release(self._specs, self._ip_map, self.spec_ids, self.ips)


def _release(specs: Map, ip_map: Map, spec_ids: Sequence[int], ips: Sequence[int]) -> None:
    """Remove ``ips`` from the ip map, zero the specs and return their ids."""
    for ip in ips:
        try:
            if not ip_map.closed:
                del ip_map[ip]
        except (BPFError, KeyError):
            pass
    zero = bytes(specs.value_size)
    for sid in spec_ids:
        try:
            if not specs.closed:
                specs[sid] = zero
        except BPFError:
            pass
    _allocator(specs).give_back(spec_ids)


def attach_usdt(
    prog_fd: int,
    binary: str,
    provider: str,
    name: str,
    *,
    prog_name: str = "",
    pid: int = -1,
    cookie: int = 0,
    specs_map: Map | None = None,
    ip_map: Map | None = None,
    use_cookie: bool | None = None,
    use_pmu: bool | None = None,
) -> UsdtLink:
    """Attach a ``usdt`` program to every site of ``provider:name`` in ``binary``.

    ``specs_map``/``ip_map`` are the object's ``__bpf_usdt_specs`` and
    ``__bpf_usdt_ip_to_spec_id`` (``prog.attach()`` passes them). ``cookie`` is what
    ``bpf_usdt_cookie()`` returns; ``pid`` limits the probes to one process (-1: all).
    ``use_cookie=False`` forces the ip map (as on kernels before 5.15; the object
    must then have been loaded with ``LINUX_HAS_BPF_COOKIE`` false).
    """
    from pybpf.link.uprobe import attach_uprobe
    from pybpf.sys import features

    what = f"attach USDT program {prog_name!r} to {provider}:{name}"
    if specs_map is None or ip_map is None:
        raise ObjectError(
            f"{what}: the program's object has no {SPECS_MAP} / {IP_MAP} maps; "
            "include <bpf/usdt.bpf.h> in the BPF program (and attach through prog.attach())"
        )
    path = resolve_binary(binary, pid=pid)
    probes = find_probes(path, provider, name)
    if not probes:
        raise AttachError(
            f"{what} in {path}",
            errno.ENOENT,
            f"no USDT probe {provider}:{name} in its .note.stapsdt",
            hint=_available(path),
        )
    layout = _layout(specs_map)
    if use_cookie is None:
        use_cookie = features.has_bpf_cookie()
    if any(p.semaphore_offset for p in probes) and not os.path.exists(_REF_CTR_FORMAT):
        raise NotSupportedError(
            f"USDT semaphores ({provider}:{name} in {path} has one): uprobe ref_ctr_offset",
            "Linux 4.20+ counts semaphores for uprobes",
        )
    ips = _absolute_ips(path, probes, pid) if not use_cookie else []
    values: dict[str, bytes] = {}  # spec per distinct argument string, checked up front
    for probe in probes:
        if probe.args_text not in values:
            try:
                values[probe.args_text] = layout.encode(probe.args, cookie)
            except ObjectError as exc:
                raise ObjectError(
                    f"USDT probe {provider}:{name} at {probe.address:#x}: {exc.message}",
                    file=path,
                    section=NOTE_SECTION,
                ) from exc

    alloc = _allocator(specs_map)
    by_args: dict[str, int] = {}
    spec_ids: list[int] = []
    links: list[Link] = []
    done_ips: list[int] = []
    try:
        for i, probe in enumerate(probes):
            sid = by_args.get(probe.args_text)
            if sid is None:
                value = values[probe.args_text]
                sid = alloc.take()
                if sid is None:
                    raise AttachError(
                        what,
                        errno.E2BIG,
                        f"all {specs_map.max_entries} USDT spec ids of {SPECS_MAP} are in use",
                        hint="define BPF_USDT_MAX_SPEC_CNT larger before including usdt.bpf.h",
                    )
                spec_ids.append(sid)
                by_args[probe.args_text] = sid
                specs_map[sid] = value
            if not use_cookie:
                try:
                    ip_map.update(ips[i], sid, flags=UpdateFlags.NOEXIST)
                except BPFError as exc:
                    if getattr(exc, "errno", 0) == errno.EEXIST:
                        raise AttachError(
                            what,
                            errno.EEXIST,
                            f"address {ips[i]:#x} is already attached by another USDT link",
                        ) from exc
                    raise
                done_ips.append(ips[i])
            links.append(
                attach_uprobe(
                    prog_fd,
                    path,
                    offset=probe.offset,
                    prog_name=prog_name,
                    pid=pid,
                    ref_ctr_offset=probe.semaphore_offset,
                    cookie=sid if use_cookie else 0,
                    use_pmu=use_pmu,
                )
            )
    except BaseException:
        for link in links:
            try:  # noqa: SIM105 - undo as much as possible, then re-raise
                link.close()
            except BPFError:
                pass
        _release(specs_map, ip_map, spec_ids, done_ips)
        raise
    return UsdtLink(
        links,
        prog_name,
        f"{path}:{provider}:{name}",
        specs=specs_map,
        ip_map=ip_map,
        spec_ids=spec_ids,
        ips=done_ips,
        probes=probes,
    )


def _layout(specs: Map) -> SpecLayout:
    """The spec layout from the map's BTF value type (libbpf's fixed one without BTF)."""
    if specs.btf is not None and specs.value_type_id:
        layout = SpecLayout.from_btf(specs.btf, specs.value_type_id)
    else:
        layout = SpecLayout.default()
    if layout.size != specs.value_size:
        raise ObjectError(
            f"map {SPECS_MAP}: values of {specs.value_size} bytes, but struct "
            f"__bpf_usdt_spec is {layout.size} bytes"
        )
    return layout


def _available(path: str) -> str:
    from pybpf.link.usdt.notes import read_notes

    names = sorted({f"{n.provider}:{n.name}" for n in read_notes(path)})
    if not names:
        return "the binary has no USDT probes (built without <sys/sdt.h> probes?)"
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    return f"its probes: {shown}"


def _absolute_ips(path: str, probes: Sequence[UsdtProbe], pid: int) -> list[int]:
    """Run-time addresses of the sites (keys of the ip map, used without BPF cookies)."""
    if elf_type(path) == "ET_EXEC":
        return [p.address for p in probes]
    if pid < 0:
        raise NotSupportedError(
            f"USDT probes in a position-independent binary ({path}) for every process "
            "without BPF cookies",
            "pass pid= (the ip map needs the addresses of one process)",
        )
    maps = _exec_mappings(pid or os.getpid(), path)
    out: list[int] = []
    for p in probes:
        for start, end, off in maps:
            if off <= p.offset < off + (end - start):
                out.append(start - off + p.offset)
                break
        else:
            raise AttachError(
                f"resolve USDT probe {p.provider}:{p.name} in process {pid}",
                errno.ESRCH,
                f"{path} offset {p.offset:#x} is not mapped executable in the process",
            )
    return out


def _exec_mappings(pid: int, path: str) -> list[tuple[int, int, int]]:
    """``(start, end, file offset)`` of the executable mappings of ``path`` in ``pid``."""
    try:
        text = Path(f"/proc/{pid}/maps").read_text()
    except OSError as exc:
        raise AttachError(
            f"read /proc/{pid}/maps", exc.errno or errno.ESRCH, "no such process?"
        ) from exc
    real = os.path.realpath(path)
    out: list[tuple[int, int, int]] = []
    for line in text.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or "x" not in parts[1] or parts[5].strip() not in (path, real):
            continue
        lo, _, hi = parts[0].partition("-")
        out.append((int(lo, 16), int(hi, 16), int(parts[2], 16)))
    return out

"""Attach a loaded program where its section says, and auto-attach a whole object.

``attach_program(prog, ...)`` dispatches on the section's attach kind to the
``pybpf.link`` family that implements it; explicit arguments (an interface, a
cgroup, a binary...) are passed through. ``auto_attach(obj)`` attaches every
program whose section names its target and reports the others with a reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pybpf.elf.sections import AttachKind
from pybpf.errors import BPFError, NotSupportedError, UsageError

if TYPE_CHECKING:
    from pybpf.link.base import Link
    from pybpf.object import Object
    from pybpf.program import Program

__all__ = ["DISPATCH", "attach_program", "auto_attach"]


def _target(prog: Program) -> Any:
    return prog.sec.target if prog.sec is not None else None


def _tracepoint(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.tracepoint import attach_tracepoint

    if args:
        return attach_tracepoint(prog.fd, *args, prog_name=prog.name, **kw)
    t = _target(prog)
    if t is None:
        raise UsageError(
            f"program {prog.name!r}: give the tracepoint as attach('category', 'name')"
        )
    return attach_tracepoint(prog.fd, t.category, t.name, prog_name=prog.name, **kw)


def _raw_tracepoint(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.tracepoint import attach_raw_tracepoint

    name = args[0] if args else getattr(_target(prog), "name", None)
    if not name:
        raise UsageError(f"program {prog.name!r}: give the raw tracepoint as attach('name')")
    return attach_raw_tracepoint(prog.fd, name, prog_name=prog.name, **kw)


def _tracing(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.tracing import attach_tracing

    kind = prog.sec.name.split("/")[0] if prog.sec is not None else "tracing"
    kw.setdefault("attach_type", prog.expected_attach_type)
    kw.setdefault("prog_type", prog.prog_type)
    return attach_tracing(
        prog.fd, prog_name=prog.name, kind=kind, target=prog.attach_target or "", **kw
    )


def _kprobe(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.kprobe import attach_kprobe

    t = _target(prog)
    retprobe = bool(prog.sec and prog.sec.retprobe)
    kw.setdefault("retprobe", retprobe)
    if args:
        return attach_kprobe(prog.fd, *args, prog_name=prog.name, **kw)
    if t is None:
        raise UsageError(f"program {prog.name!r}: give the kernel function as attach('func')")
    return attach_kprobe(prog.fd, t.function, offset=t.offset, prog_name=prog.name, **kw)


def _ksyscall(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.kprobe import attach_ksyscall

    t = _target(prog)
    kw.setdefault("retprobe", bool(prog.sec and prog.sec.retprobe))
    name = args[0] if args else getattr(t, "syscall", None)
    if not name:
        raise UsageError(f"program {prog.name!r}: give the syscall as attach('name')")
    return attach_ksyscall(prog.fd, name, prog_name=prog.name, **kw)


def _kprobe_multi(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.kprobe import attach_kprobe_multi

    kw.setdefault("retprobe", bool(prog.sec and prog.sec.retprobe))
    pattern = args[0] if args else getattr(_target(prog), "pattern", None)
    return attach_kprobe_multi(prog.fd, pattern, prog_name=prog.name, **kw)


def _uprobe(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.uprobe import attach_uprobe

    kw.setdefault("retprobe", bool(prog.sec and prog.sec.retprobe))
    if args:
        return attach_uprobe(prog.fd, *args, prog_name=prog.name, **kw)
    t = _target(prog)
    if t is None:
        raise UsageError(
            f"program {prog.name!r}: give the target as attach(binary, symbol, offset, pid=...)"
        )
    return attach_uprobe(prog.fd, t.binary, t.function, t.offset, prog_name=prog.name, **kw)


def _uprobe_multi(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.uprobe import attach_uprobe_multi

    kw.setdefault("retprobe", bool(prog.sec and prog.sec.retprobe))
    if args:
        return attach_uprobe_multi(prog.fd, *args, prog_name=prog.name, **kw)
    t = _target(prog)
    return attach_uprobe_multi(prog.fd, t.binary, t.pattern, prog_name=prog.name, **kw)


def _usdt(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.usdt.attach import IP_MAP, SPECS_MAP, attach_usdt

    obj = prog.object
    if obj is not None:  # usdt.bpf.h's maps, which attach fills
        for key, mname in (("specs_map", SPECS_MAP), ("ip_map", IP_MAP)):
            if mname in obj.maps:
                kw.setdefault(key, obj.maps[mname])
    if args:
        return attach_usdt(prog.fd, *args, prog_name=prog.name, **kw)
    t = _target(prog)
    if t is None:
        raise UsageError(
            f"program {prog.name!r}: give the probe as attach(binary, provider, name, pid=...)"
        )
    return attach_usdt(prog.fd, t.binary, t.provider, t.name, prog_name=prog.name, **kw)


def _iter(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.iter import attach_iter

    return attach_iter(prog.fd, prog_name=prog.name, target=prog.attach_target or "", **kw)


# What the explicit argument of each hook is, for the error when it is missing.
_EXAMPLES = {
    "perf_event": "an open perf event fd, e.g. prog.attach(pybpf.link.perf_event."
    "open_sampling_event(cpu=0, sample_freq=99))",
    "socket": "a socket, e.g. prog.attach(socket.socket(socket.AF_PACKET, socket.SOCK_RAW))",
    "sk_reuseport": "a SO_REUSEPORT socket, e.g. prog.attach(sock)",
    "tc": "an interface and direction, e.g. prog.attach('eth0', direction='ingress')",
    "tcx": "an interface and direction, e.g. prog.attach('eth0', direction='ingress')",
    "netkit": "a netkit interface, e.g. prog.attach('nk0')",
    "xdp": "an interface, e.g. prog.attach('eth0')",
    "cgroup": "a cgroup v2 (path, or fd), e.g. prog.attach('/sys/fs/cgroup/unified/mygroup')",
    "sockmap": "the sockmap/sockhash map, e.g. prog.attach(obj.maps['sock_map'])",
}


def _check_args(
    prog: Program, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]
) -> None:
    """A missing or extra argument becomes a :class:`UsageError` saying what to pass
    (instead of a bare TypeError from the hook's function)."""
    import inspect  # (with ast, dis, tokenize: ~4 ms of import that tracepoints skip)

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(prog.fd, *args, prog_name=prog.name, **kw)
    except TypeError as exc:
        kind = prog.sec.kind.value if prog.sec is not None else "?"
        params = [
            p.name
            for p in list(sig.parameters.values())[1:]
            if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        want = _EXAMPLES.get(kind) or f"({', '.join(params)})"
        raise UsageError(
            f"program {prog.name!r} ({kind}, section {prog.sec.name if prog.sec else '?'!r}): "
            f"attach() needs {want}; {exc}"
        ) from exc


def _perf_event(prog: Program, *args: Any, **kw: Any) -> Link:
    from pybpf.link.perf_event import attach_perf_event

    _check_args(prog, attach_perf_event, args, kw)
    return attach_perf_event(prog.fd, *args, prog_name=prog.name, **kw)


def _network(module: str, func: str) -> Any:
    def attach(prog: Program, *args: Any, **kw: Any) -> Link:
        try:
            mod = importlib.import_module(f"pybpf.link.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"pybpf.link.{module}":
                raise
            raise NotSupportedError(
                f"attaching {prog.sec.kind.value if prog.sec else module} programs from pybpf"
            ) from exc
        fn = getattr(mod, func)
        kw = _net_defaults(prog, kw)
        _check_args(prog, fn, args, kw)
        return fn(prog.fd, *args, prog_name=prog.name, **kw)  # type: ignore[no-any-return]

    attach.target = (f"pybpf.link.{module}", func)  # type: ignore[attr-defined]
    return attach


def _net_defaults(prog: Program, kw: dict[str, Any]) -> dict[str, Any]:
    if prog.expected_attach_type is not None:
        kw.setdefault("attach_type", prog.expected_attach_type)
    return kw


def _not_attachable(why: str) -> Any:
    """The routine of a kind pybpf has no attach for: a NotSupportedError saying what to do."""

    def attach(prog: Program, *args: Any, **kw: Any) -> Link:
        sec = prog.sec.name if prog.sec is not None else "?"
        raise NotSupportedError(f"attaching program {prog.name!r} ({sec}) from pybpf", why)

    return attach


#: Every attach kind's routine. Keyed by the enum so that a new kind without a routine
#: fails ``tests/link/test_attach_dispatch.py`` instead of falling through at run time.
DISPATCH: dict[AttachKind, Callable[..., Link]] = {
    AttachKind.NONE: _not_attachable(
        "its section names no hook; load it and use it directly (test_run, a map slot) "
        "or call an explicit attach_* with the target"
    ),
    AttachKind.TRACEPOINT: _tracepoint,
    AttachKind.RAW_TRACEPOINT: _raw_tracepoint,
    AttachKind.TRACING: _tracing,
    AttachKind.LSM: _tracing,
    AttachKind.KPROBE: _kprobe,
    AttachKind.KSYSCALL: _ksyscall,
    AttachKind.KPROBE_MULTI: _kprobe_multi,
    AttachKind.KPROBE_SESSION: _kprobe_multi,
    AttachKind.UPROBE: _uprobe,
    AttachKind.UPROBE_MULTI: _uprobe_multi,
    AttachKind.USDT: _usdt,
    AttachKind.ITER: _iter,
    AttachKind.STRUCT_OPS: _not_attachable(
        "struct_ops programs are registered through their struct_ops map by obj.attach()"
    ),
    AttachKind.PERF_EVENT: _perf_event,
    AttachKind.XDP: _network("xdp", "attach_xdp"),
    AttachKind.TC: _network("tc", "attach_tc"),
    AttachKind.TCX: _network("tc", "attach_tcx"),
    AttachKind.NETKIT: _network("tc", "attach_netkit"),
    AttachKind.CGROUP: _network("cgroup", "attach_cgroup"),
    AttachKind.LSM_CGROUP: _network("cgroup", "attach_cgroup"),
    AttachKind.SOCKMAP: _network("sockmap", "attach_sockmap"),
    AttachKind.SK_LOOKUP: _network("netns", "attach_sk_lookup"),
    AttachKind.FLOW_DISSECTOR: _network("netns", "attach_flow_dissector"),
    AttachKind.NETFILTER: _network("netfilter", "attach_netfilter"),
    AttachKind.SOCKET: _network("socket", "attach_socket"),
    AttachKind.SK_REUSEPORT: _network("socket", "attach_reuseport"),
    AttachKind.LWT: _network("lwt", "attach_lwt"),
    AttachKind.LIRC: _not_attachable(
        "lirc_mode2 programs attach to a /dev/lircN device with BPF_PROG_ATTACH, "
        "which pybpf does not do yet"
    ),
}


def attach_program(prog: Program, *args: Any, **kwargs: Any) -> Link:
    """Attach ``prog`` as its section describes; arguments go to the hook's attach."""
    if prog.sec is None:
        raise BPFError(f"program {prog.name!r} has no section type; use an explicit attach_* call")
    return DISPATCH[prog.sec.kind](prog, *args, **kwargs)


def auto_attach(obj: Object) -> tuple[list[Link], dict[str, str]]:
    """Attach every loaded program whose section names its target; say why others were skipped."""
    links: list[Link] = []
    skipped: dict[str, str] = {}
    try:
        for name, prog in obj.programs.items():
            if not prog.loaded:
                skipped[name] = "not loaded (autoload is off)"
                continue
            sec = prog.sec
            if sec is None or not sec.auto_attach:
                why = "its section names no attach target"
                if sec is not None and sec.target_error:
                    why = sec.target_error
                skipped[name] = why
                continue
            try:
                links.append(attach_program(prog))
            except NotSupportedError as exc:  # e.g. kprobes on a kernel without them
                skipped[name] = str(exc)
    except BaseException:
        for link in links:
            link.close()
        raise
    return links, skipped

"""BTF-attached tracing programs: tp_btf, fentry, fexit, fmod_ret and lsm.

The target was fixed at load time (``attach_btf_id``), so attaching only makes the
link: BPF_RAW_TRACEPOINT_OPEN without a name, or BPF_LINK_CREATE when a cookie is
wanted. fentry/fexit/fmod_ret/lsm need BPF trampolines; kernels without them refuse
the load (EPERM/ENOTSUPP), which :func:`explain_trampoline_error` turns into a clear
:class:`~pybpf.errors.NotSupportedError`.
"""

from __future__ import annotations

from pybpf.errors import AttachError, KernelError
from pybpf.link.base import FDLink
from pybpf.sys import links as syslinks
from pybpf.sys.progs import trampoline_error, trampoline_refused
from pybpf.uapi.enums import AttachType, ProgType

__all__ = ["TRAMPOLINE_KINDS", "attach_tracing", "explain_trampoline_error"]

#: Program kinds that run through a BPF trampoline.
TRAMPOLINE_KINDS = ("fentry", "fexit", "fmod_ret", "lsm", "freplace")

#: The error for a kernel that cannot make trampolines (one implementation, in sys).
explain_trampoline_error = trampoline_error


def attach_tracing(
    prog_fd: int,
    *,
    prog_name: str = "",
    kind: str = "tracing",
    attach_type: AttachType | int | None = None,
    cookie: int = 0,
    target: str = "",
    prog_type: ProgType | int | None = None,
) -> FDLink:
    """Attach a loaded tp_btf/fentry/fexit/fmod_ret/lsm program to its load-time target.

    ``kind`` names the program kind for the link and errors; ``attach_type`` (the
    program's expected attach type) is needed with a ``cookie``, and with ``prog_type``
    tells a kernel without BPF trampolines from other refusals.
    """
    try:
        if cookie:
            if attach_type is None:
                raise ValueError("a cookie needs the program's attach_type (BPF_LINK_CREATE)")
            fd = syslinks.link_create(
                prog_fd,
                0,
                attach_type,
                tracing_cookie=cookie,
                op=f"attach {kind} program {prog_name!r}",
            )
        else:
            fd = syslinks.raw_tracepoint_open(None, prog_fd)
    except KernelError as exc:
        err = exc.errno or 0
        if trampoline_refused(err, attach_type, prog_type):
            raise trampoline_error(err, kind=kind, program=prog_name, target=target) from exc
        raise AttachError(
            f"attach {kind} program {prog_name!r}" + (f" to {target}" if target else ""),
            err,
            exc.detail,
            hint=exc.hint,
        ) from exc
    return FDLink(fd, kind, prog_name, target)

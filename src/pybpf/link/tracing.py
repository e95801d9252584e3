"""BTF-attached tracing programs: tp_btf, fentry, fexit, fmod_ret and lsm.

The target was fixed at load time (``attach_btf_id``), so attaching only makes the
link: BPF_RAW_TRACEPOINT_OPEN without a name, or BPF_LINK_CREATE when a cookie is
wanted. fentry/fexit/fmod_ret/lsm need BPF trampolines; kernels without them refuse
the load (EPERM/ENOTSUPP), which :func:`explain_trampoline_error` turns into a clear
:class:`~pybpf.errors.NotSupportedError`.
"""

from __future__ import annotations

import errno

from pybpf.errors import AttachError, KernelError, NotSupportedError
from pybpf.link.base import FDLink
from pybpf.sys import links as syslinks
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType

__all__ = ["TRAMPOLINE_KINDS", "attach_tracing", "explain_trampoline_error"]

#: Program kinds that run through a BPF trampoline.
TRAMPOLINE_KINDS = ("fentry", "fexit", "fmod_ret", "lsm", "freplace")

_TRAMPOLINE_ERRNOS = (errno.EPERM, errno.EOPNOTSUPP, ENOTSUPP, errno.ENOTSUP)


def explain_trampoline_error(
    err: int, *, kind: str = "fentry", program: str = "", target: str = ""
) -> NotSupportedError:
    """The error for a kernel that refused a trampoline-based program (load or attach).

    Says that the kernel refused BPF trampolines and what to use instead.
    """
    what = f"{kind} program {program!r}" if program else f"{kind} programs"
    if target:
        what += f" on {target}"
    reason = {
        errno.EPERM: "the kernel refused to create a BPF trampoline (EPERM)",
        errno.EOPNOTSUPP: "the kernel has no BPF trampoline support (EOPNOTSUPP)",
        ENOTSUPP: "the kernel has no BPF trampoline support (ENOTSUPP)",
    }.get(err, f"the kernel refused the BPF trampoline (errno {err})")
    hint = (
        f"{reason}: {what} need BPF trampolines (an x86-64/arm64 BPF JIT with "
        "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS / CONFIG_FUNCTION_TRACER; "
        "lsm also needs CONFIG_BPF_LSM with 'bpf' in the lsm= list); "
        "use a tracepoint (tp/), raw tracepoint (raw_tp/) or BTF tracepoint (tp_btf/) "
        "program instead"
    )
    return NotSupportedError("tracing trampolines (fentry/fexit/fmod_ret/lsm)", hint, errno=err)


def attach_tracing(
    prog_fd: int,
    *,
    prog_name: str = "",
    kind: str = "tracing",
    attach_type: AttachType | int | None = None,
    cookie: int = 0,
    target: str = "",
) -> FDLink:
    """Attach a loaded tp_btf/fentry/fexit/fmod_ret/lsm program to its load-time target.

    ``kind`` names the program kind for the link and errors; ``attach_type`` (the
    program's expected attach type) is needed only with a ``cookie``.
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
        if kind.split(".")[0] in TRAMPOLINE_KINDS and err in _TRAMPOLINE_ERRNOS:
            raise explain_trampoline_error(
                err, kind=kind, program=prog_name, target=target
            ) from None
        raise AttachError(
            f"attach {kind} program {prog_name!r}" + (f" to {target}" if target else ""),
            err,
            exc.detail,
            hint=exc.hint,
        ) from None
    return FDLink(fd, kind, prog_name, target)

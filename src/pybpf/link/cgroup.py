"""cgroup programs: attach to a cgroup v2 directory, by link or by BPF_PROG_ATTACH.

Every cgroup attach type (skb ingress/egress, sock create/release, bind/connect/
sendmsg/recvmsg/getpeername/getsockname, sock_ops, device, sysctl, sockopt,
lsm_cgroup) goes through BPF_LINK_CREATE on the cgroup's fd (kernel 5.7+);
``method="auto"`` falls back to BPF_PROG_ATTACH (flags ALLOW_MULTI by default)
whose link detaches exactly that program again.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from pybpf.errors import AttachError, BPFError, KernelError
from pybpf.link.base import CallbackLink, FDLink, Link
from pybpf.sys import fs
from pybpf.sys import links as syslinks
from pybpf.sys import progs as sysprogs
from pybpf.sys.fd import FD, dup_fd, fd_of
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType

__all__ = [
    "BPF_F_ALLOW_MULTI",
    "BPF_F_ALLOW_OVERRIDE",
    "attach_cgroup",
    "cgroup2_root",
    "cgroup_path",
    "cgroup_query",
]

BPF_F_ALLOW_OVERRIDE = 1 << 0
BPF_F_ALLOW_MULTI = 1 << 1
_DEFAULT_MOUNT = Path("/sys/fs/cgroup/unified")
_FALLBACK_MOUNT = Path("/run/pybpf/cgroup2")


def cgroup2_root() -> Path:
    """The cgroup v2 mount point, mounting cgroup2 when there is none (and permitted)."""
    found = sorted(p for p, fstype in fs.mounts().items() if fstype == "cgroup2")
    if found:
        return min(found, key=lambda p: len(p.parts))
    for target in (_DEFAULT_MOUNT, _FALLBACK_MOUNT):
        try:
            target.mkdir(parents=True, exist_ok=True)
            fs.mount("cgroup2", target)
        except (OSError, KernelError):
            continue
        return target
    raise BPFError("no cgroup v2 hierarchy is mounted and none could be mounted")


def cgroup_path(cgroup: str | os.PathLike[str]) -> Path:
    """An absolute cgroup v2 directory: absolute paths as given, others under the v2 root."""
    p = Path(os.fspath(cgroup))
    return p if p.is_absolute() else cgroup2_root() / p


def _open_cgroup(cgroup: Any) -> tuple[FD, str]:
    if isinstance(cgroup, (str, os.PathLike)):
        path = cgroup_path(cgroup)
        try:
            return FD(os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), "cgroup"), str(
                path
            )
        except OSError as exc:
            raise AttachError(
                f"open cgroup {path}",
                exc.errno or errno.ENOENT,
                hint="give a cgroup v2 directory (absolute, or relative to the cgroup2 mount)",
            ) from exc
    fd = fd_of(cgroup, "cgroup")
    return dup_fd(fd, "cgroup"), f"cgroup fd {fd}"


def _attach_type(attach_type: AttachType | int | None) -> AttachType | int:
    if attach_type is None:
        raise BPFError(
            "cgroup attach needs attach_type= (the section name gives it, e.g. cgroup_skb/ingress)"
        )
    return attach_type


def attach_cgroup(
    prog_fd: Any,
    cgroup: Any,
    *,
    attach_type: AttachType | int | None = None,
    flags: int | None = None,
    method: str = "auto",
    prog_name: str = "",
) -> Link:
    """Attach a cgroup program to ``cgroup`` (path, name under the v2 root, or fd).

    ``method``: ``link`` (BPF link), ``legacy`` (BPF_PROG_ATTACH with ``flags``,
    default ALLOW_MULTI) or ``auto`` (link, falling back to legacy).
    """
    if method not in ("auto", "link", "legacy"):
        raise ValueError(f"method {method!r}: use 'auto', 'link' or 'legacy'")
    fd = fd_of(prog_fd, "cgroup program")
    at = _attach_type(attach_type)
    cg, where = _open_cgroup(cgroup)
    try:
        what = f"attach {sysprogs.attach_type_name(at)} program {prog_name!r} to {where}"
        if method != "legacy":
            try:
                lfd = syslinks.link_create(fd, cg, at, flags=flags or 0, op=what)
                return FDLink(
                    lfd, "cgroup", prog_name, f"{where} ({sysprogs.attach_type_name(at)})"
                )
            except AttachError as exc:
                if method == "link" or exc.errno not in (errno.EINVAL, ENOTSUPP, errno.EOPNOTSUPP):
                    raise
        return _attach_legacy(
            fd, cg, at, BPF_F_ALLOW_MULTI if flags is None else flags, prog_name, where
        )
    finally:
        cg.close()


def _attach_legacy(
    fd: int, cg: FD, at: AttachType | int, flags: int, prog_name: str, where: str
) -> Link:
    sysprogs.prog_attach(cg, fd, at, flags)
    held_cg = cg.dup()
    held_prog = dup_fd(fd, "prog")

    def undo() -> None:
        try:
            try:
                sysprogs.prog_detach(held_cg, at, held_prog)
            except KernelError as exc:
                if exc.errno != errno.ENOENT:  # already detached by someone else
                    raise
        finally:
            held_cg.close()
            held_prog.close()

    return CallbackLink(undo, "cgroup", prog_name, f"{where} ({sysprogs.attach_type_name(at)})")


def cgroup_query(cgroup: Any, attach_type: AttachType | int) -> sysprogs.QueryResult:
    """Programs (and links) attached to a cgroup for ``attach_type`` (BPF_PROG_QUERY)."""
    cg, _ = _open_cgroup(cgroup)
    with cg:
        return sysprogs.prog_query(cg, attach_type)

"""``pybpf link list|detach ID``: BPF links in the kernel."""

from __future__ import annotations

import argparse
from typing import Any

from pybpf.cli._output import emit_json, emit_table

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``link`` subcommands."""
    p = subparsers.add_parser("link", help="list and detach BPF links")
    sub = p.add_subparsers(dest="link_cmd", metavar="CMD", required=True)
    ls = sub.add_parser("list", help="every link")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    de = sub.add_parser("detach", help="detach a link (its program stops running there)")
    de.add_argument("id", type=int)
    de.set_defaults(func=_detach)


def _plain(v: Any) -> Any:
    import enum

    if isinstance(v, enum.Enum):
        return v.name.lower()
    return v


def link_record(info: Any) -> dict[str, Any]:
    """A link's info with bpftool-like JSON keys."""
    rec: dict[str, Any] = {"id": info.id, "type": _plain(info.type), "prog_id": info.prog_id}
    rec.update({k: _plain(v) for k, v in info.details.items()})
    return rec


def _list(args: argparse.Namespace) -> int:
    from pybpf.kernel import introspect

    recs = [link_record(i) for i in sorted(introspect.links(), key=lambda i: i.id)]
    if args.json:
        emit_json(recs)
        return 0
    emit_table(
        "Links",
        ("id", "type", "prog", "details"),
        [
            (
                r["id"],
                r["type"],
                r["prog_id"],
                " ".join(f"{k}={v}" for k, v in r.items() if k not in ("id", "type", "prog_id")),
            )
            for r in recs
        ],
    )
    return 0


def _detach(args: argparse.Namespace) -> int:
    import errno

    from pybpf.errors import KernelError
    from pybpf.sys.info import link_info
    from pybpf.sys.links import link_detach
    from pybpf.sys.objects import get_fd_by_id

    with get_fd_by_id("link", args.id) as fd:
        try:
            link_detach(fd)
        except KernelError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.ENOTSUP):
                raise
            kind = _plain(link_info(fd).type)
            raise KernelError(
                f"detach link {args.id}",
                exc.errno,
                f"{kind} links cannot be detached by id",
                hint="the link goes away when the process holding it closes it (or unpin it)",
            ) from exc
    return 0

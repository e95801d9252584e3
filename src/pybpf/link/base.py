"""The attachment handles every attach function returns: :class:`Link` and its kinds.

A :class:`Link` undoes its attachment exactly once, on :meth:`Link.close`, on
leaving a ``with`` block or when garbage collected (also at interpreter exit,
silently). Kinds differ in what they own: a BPF link fd (:class:`FDLink`), a perf
event fd with an optional BPF link and probe cleanup (:class:`PerfEventLink`), a
legacy attachment undone by a callback (:class:`CallbackLink`), or several links
(:class:`LinkGroup`).
"""

from __future__ import annotations

import atexit
import errno
import os
import weakref
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pybpf.errors import BPFError, KernelError, LinkError, NotSupportedError
from pybpf.sys import fs, objects, perf
from pybpf.sys import links as syslinks
from pybpf.sys.fd import FD
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import LinkType

if TYPE_CHECKING:
    from pybpf.sys.info import LinkInfo

__all__ = [
    "CallbackLink",
    "FDLink",
    "Link",
    "LinkGroup",
    "LinkInfo",
    "PerfEventLink",
    "close_links",
]


def __getattr__(name: str) -> Any:
    if name == "LinkInfo":  # re-exported; pybpf.sys.info loads on first use
        from pybpf.sys.info import LinkInfo

        return LinkInfo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def link_info(fd: int) -> LinkInfo:
    """The kernel's ``bpf_link_info`` of link ``fd`` (pybpf.sys.info, imported on first use:
    attaching does not need it)."""
    from pybpf.sys.info import link_info as info

    return info(fd)


# Links whose cleanup touches shared state (tracefs probe entries): closed at exit
# even if still referenced, so no probe entry of ours outlives the process.
_EXIT_CLOSE: weakref.WeakSet[Link] = weakref.WeakSet()


def _close_at_exit() -> None:
    for link in list(_EXIT_CLOSE):
        try:  # noqa: SIM105 - keep interpreter exit quiet
            link.close()
        except Exception:
            pass


atexit.register(_close_at_exit)

# Link types whose kernel ops implement update_prog (others answer EINVAL).
_UPDATABLE = frozenset(
    {
        LinkType.CGROUP,
        LinkType.ITER,
        LinkType.NETNS,
        LinkType.XDP,
        LinkType.TCX,
        LinkType.NETKIT,
        LinkType.SOCKMAP,
        LinkType.STRUCT_OPS,
    }
)


class Link:
    """An attached program; :meth:`close` detaches it (idempotent).

    ``kind`` names the attach family (``tracepoint``, ``raw_tracepoint``, ``uprobe``,
    ``xdp``, ...), ``program`` the program's name, ``target`` what it is attached to.

    Example::

        link = obj.programs["handle_exec"].attach()
        link.pin("/sys/fs/bpf/exec_link")   # outlives this process
        link.close()                          # the pin keeps it attached
    """

    def __init__(self, kind: str, program: str = "", target: str = "") -> None:
        self.kind = kind
        self.program = program
        self.target = target
        self._closed = False
        self._pins: list[str] = []

    # -- lifetime -------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once detached."""
        return self._closed

    def close(self) -> None:
        """Detach the program and remove what this link created (pins, probe entries)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._unpin_all()
        finally:
            self._detach()

    detach = close

    def _detach(self) -> None:
        """Undo the attachment (subclasses)."""

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise LinkError(f"{what} of {self!r}", errno.EBADF, "the link is closed")

    def __enter__(self) -> Link:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        try:  # noqa: SIM105 - at interpreter exit anything may already be gone
            self.close()
        except BaseException:
            pass

    # -- kernel object --------------------------------------------------------------

    def link_fd(self) -> int:
        """The BPF link fd; NotSupportedError when this attachment is not a BPF link."""
        raise NotSupportedError(
            f"a BPF link object for {self.kind} attachments made this way",
            "this attachment is not a BPF link (legacy attach); it cannot be pinned, "
            "updated or introspected as a link",
        )

    @property
    def id(self) -> int:
        """The kernel's link id."""
        return self.info().id

    def info(self) -> LinkInfo:
        """The kernel's ``bpf_link_info`` for this link."""
        self._check_open("get info")
        return link_info(self.link_fd())

    def update_program(self, new_prog_fd: int, *, old_prog_fd: int = 0) -> None:
        """Replace the attached program atomically (BPF_LINK_UPDATE), where the kernel allows.

        ``old_prog_fd`` makes the update conditional on the current program.
        """
        self._check_open("update program")
        fd = self.link_fd()
        try:
            syslinks.link_update(
                fd,
                int(new_prog_fd),
                old_prog_fd=int(old_prog_fd) or None,
                op="update link program",
            )
        except KernelError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.ENOTSUP, ENOTSUPP) or (
                exc.errno == errno.EINVAL and not self._updatable(fd)
            ):
                raise NotSupportedError(
                    f"replacing the program of a {self.kind} link (BPF_LINK_UPDATE)",
                    "detach this link and attach the new program instead",
                    errno=exc.errno,
                ) from exc
            raise

    @staticmethod
    def _updatable(fd: int) -> bool:
        """Whether the kernel implements BPF_LINK_UPDATE for this link's type."""
        try:
            ltype = link_info(fd).type
        except BPFError:
            return True
        return ltype in _UPDATABLE

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin the link in a bpffs at ``path`` (mounting /sys/fs/bpf if needed).

        The pin keeps the attachment alive without this process; :meth:`close`
        removes it again (use :meth:`disconnect` to leave it in place).
        """
        self._check_open("pin")
        target = os.fspath(path)
        fd = self.link_fd()
        _ensure_bpffs(target)
        try:
            objects.obj_pin(fd, target)
        except KernelError as exc:
            raise LinkError(
                f"pin {self.kind} link at {target}", exc.errno or 0, hint=exc.hint
            ) from exc
        self._pins.append(target)

    def unpin(self, path: str | os.PathLike[str] | None = None) -> None:
        """Remove a pin made by :meth:`pin` (the last one when ``path`` is None)."""
        if not self._pins and path is None:
            return
        target = os.fspath(path) if path is not None else self._pins[-1]
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise LinkError(f"unpin {target}", exc.errno or errno.EIO) from exc
        if target in self._pins:
            self._pins.remove(target)

    def _unpin_all(self) -> None:
        while self._pins:
            self.unpin(self._pins[-1])

    def disconnect(self) -> None:
        """Forget the attachment without undoing it: pins stay, fds are closed.

        Use after :meth:`pin` to leave a program attached after this process exits.
        """
        self._pins.clear()
        self._closed = True
        self._release()

    def _release(self) -> None:
        """Close owned fds without detaching beyond that (subclasses)."""

    # -- factory --------------------------------------------------------------------

    @staticmethod
    def from_pin(path: str | os.PathLike[str]) -> FDLink:
        """Open the link pinned at ``path``; closing it does not remove the pin."""
        target = os.fspath(path)
        fd = objects.obj_get(target, kind="link")
        return FDLink._from_fd(fd, target=target)

    @staticmethod
    def from_id(link_id: int) -> FDLink:
        """Open the link with kernel id ``link_id``."""
        fd = objects.get_fd_by_id("link", link_id)
        return FDLink._from_fd(fd, target=f"id {link_id}")

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        prog = f" {self.program!r}" if self.program else ""
        target = f" -> {self.target}" if self.target else ""
        return f"<{type(self).__name__} {self.kind}{prog}{target}{state}>"


def _ensure_bpffs(path: str) -> None:
    """Check the pin path and make its directory ready on a bpffs (see fs.prepare_pin)."""
    fs.prepare_pin(path)


class FDLink(Link):
    """A BPF link object owned through its fd (BPF_LINK_CREATE, raw_tracepoint_open, ...)."""

    def __init__(self, fd: FD, kind: str, program: str = "", target: str = "") -> None:
        super().__init__(kind, program, target)
        self._fd = fd

    @classmethod
    def _from_fd(cls, fd: FD, target: str = "") -> FDLink:
        try:
            info = link_info(fd.fileno())
        except BaseException:
            fd.close()
            raise
        kind = info.type.name.lower() if isinstance(info.type, LinkType) else f"type {info.type}"
        return cls(fd, kind, "", target)

    @property
    def fd(self) -> FD:
        """The owned link fd."""
        return self._fd

    def fileno(self) -> int:
        """The link fd number."""
        return self._fd.fileno()

    def link_fd(self) -> int:
        return self._fd.fileno()

    def force_detach(self) -> None:
        """BPF_LINK_DETACH: detach now even if a pin or another fd holds the link."""
        self._check_open("detach")
        syslinks.link_detach(self._fd.fileno())

    def _detach(self) -> None:
        self._fd.close()

    def _release(self) -> None:
        self._fd.close()


_CLOSE_THREADS = 64  # at most this many concurrent detaches (64 links: 2.9 s -> 0.1 s)


def close_links(links: list[Link]) -> list[Exception]:
    """Close and remove every link of ``links``; return the errors raised.

    Detaching a perf-event link (tracepoint, kprobe, uprobe) waits in the kernel for
    RCU grace periods, 20-60 ms per link; those links are closed from a few threads
    so the waits overlap. Other links are closed one by one, last first.
    Example: ``errors = close_links(obj_links)``.
    """
    errors: list[Exception] = []
    concurrent = [
        lk
        for lk in links
        if isinstance(lk, PerfEventLink) and lk._cleanup is None and not lk.closed
    ]
    if len(concurrent) > 1:
        import threading

        ids = {id(lk) for lk in concurrent}
        links[:] = [lk for lk in links if id(lk) not in ids]
        todo = concurrent[::-1]
        lock = threading.Lock()

        def work() -> None:
            while True:
                with lock:
                    if not todo:
                        return
                    link = todo.pop()
                try:
                    link.close()
                except Exception as exc:
                    with lock:
                        errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(min(len(todo), _CLOSE_THREADS))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    while links:
        try:
            links.pop().close()
        except Exception as exc:
            errors.append(exc)
    return errors


class PerfEventLink(Link):
    """A program attached to a perf event (tracepoint, kprobe, uprobe, sampling event).

    Owns the perf event fd and, when the kernel has perf links, a BPF link on top;
    without one the program was attached by ioctl (PERF_EVENT_IOC_SET_BPF + ENABLE).
    ``cleanup`` runs after both are closed (e.g. removing a tracefs probe entry).
    """

    def __init__(
        self,
        perf_fd: FD,
        link_fd: FD | None,
        kind: str,
        program: str = "",
        target: str = "",
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(kind, program, target)
        self._perf_fd = perf_fd
        self._link_fd = link_fd
        self._cleanup = cleanup
        if cleanup is not None:
            _EXIT_CLOSE.add(self)

    @property
    def perf_fd(self) -> FD:
        """The owned perf event fd."""
        return self._perf_fd

    @property
    def uses_bpf_link(self) -> bool:
        """True when attached through a BPF perf link, False on the ioctl path."""
        return self._link_fd is not None

    def link_fd(self) -> int:
        if self._link_fd is None:
            return super().link_fd()
        return self._link_fd.fileno()

    def _detach(self) -> None:
        try:
            if self._link_fd is not None:
                self._link_fd.close()
            elif not self._perf_fd.closed:
                try:  # noqa: SIM105 - closing the fd detaches anyway
                    perf.perf_event_disable(self._perf_fd)
                except BPFError:
                    pass
        finally:
            self._perf_fd.close()
            cleanup, self._cleanup = self._cleanup, None
            if cleanup is not None:
                cleanup()

    def _release(self) -> None:
        self._detach()


class CallbackLink(Link):
    """A legacy attachment (prog_attach, netlink, setsockopt) undone by ``undo``."""

    def __init__(
        self,
        undo: Callable[[], None],
        kind: str,
        program: str = "",
        target: str = "",
        link_fd: FD | None = None,
    ) -> None:
        super().__init__(kind, program, target)
        self._undo: Callable[[], None] | None = undo
        self._fd = link_fd

    def link_fd(self) -> int:
        if self._fd is None:
            return super().link_fd()
        return self._fd.fileno()

    def _detach(self) -> None:
        undo, self._undo = self._undo, None
        try:
            if undo is not None:
                undo()
        finally:
            if self._fd is not None:
                self._fd.close()

    def _release(self) -> None:
        self._undo = None
        if self._fd is not None:
            self._fd.close()


class LinkGroup(Link):
    """Several links made by one attach call (per-CPU events, multi-target attaches)."""

    def __init__(self, links: Iterable[Link], kind: str, program: str = "", target: str = ""):
        super().__init__(kind, program, target)
        self.links: list[Link] = list(links)

    def __iter__(self) -> Iterator[Link]:
        return iter(self.links)

    def __len__(self) -> int:
        return len(self.links)

    def info(self) -> LinkInfo:
        raise NotSupportedError(
            "one link info for a group of links", "call info() on each of group.links"
        )

    def update_program(self, new_prog_fd: int, *, old_prog_fd: int = 0) -> None:
        for link in self.links:
            link.update_program(new_prog_fd, old_prog_fd=old_prog_fd)

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin each member as ``<path>_<index>``."""
        for i, link in enumerate(self.links):
            link.pin(f"{os.fspath(path)}_{i}")

    def _detach(self) -> None:
        errors: list[BaseException] = []
        for link in self.links:
            try:
                link.close()
            except BaseException as exc:  # keep detaching the rest
                errors.append(exc)
        if errors:
            raise errors[0]

    def _release(self) -> None:
        for link in self.links:
            link.disconnect()

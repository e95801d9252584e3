"""``Program``: one BPF program of an object, before and after it is loaded.

Before load its type, expected attach type, attach target and ``autoload`` can be
changed; after load it owns its fd and can be test-run, pinned, introspected and
attached (``attach()`` picks the hook from the section name, or use the
``attach_*`` methods with explicit targets).
"""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any

from pybpf.errors import BPFError
from pybpf.sys.fd import FD
from pybpf.uapi.enums import AttachType, ProgType

if TYPE_CHECKING:
    from pybpf.asm.insn import Instruction
    from pybpf.elf.sections import SectionInfo
    from pybpf.link.base import Link
    from pybpf.object import Object
    from pybpf.sys.progs import RunResult

__all__ = ["Program"]


class Program:
    """A BPF program; ``fd`` exists once the owning object is loaded.

    Example::

        prog = obj.programs["xdp_pass"]
        print(prog.test_run(b"\x00" * 64).retval)   # BPF_PROG_TEST_RUN
        link = prog.attach_xdp("lo")
    """

    def __init__(
        self,
        name: str,
        prog_type: ProgType | int,
        *,
        section: str = "",
        sec: SectionInfo | None = None,
        expected_attach_type: AttachType | int | None = None,
        attach_target: str | None = None,
        fd: FD | None = None,
    ) -> None:
        self.name = name
        self.section = section
        self.sec = sec
        self.prog_type: ProgType | int = prog_type
        self.expected_attach_type = expected_attach_type
        self.attach_target = attach_target
        self.autoload = True
        self.log_level = 0
        self.log_size: int | None = None  # first verifier-log buffer size (grows as needed)
        self.flags = 0
        self.verifier_log = ""
        self.attach_btf_id = 0
        self.attach_btf_obj_fd: FD | None = None
        self.attach_prog_fd: int | None = None  # freplace: the program whose function it replaces
        self._fd = fd
        self._object: weakref.ref[Object] | None = None
        self._instructions: list[Instruction] | None = None

    @property
    def object(self) -> Object | None:
        """The Object this program belongs to (None for programs opened from the kernel)."""
        return self._object() if self._object is not None else None

    @object.setter
    def object(self, obj: Object | None) -> None:
        self._object = weakref.ref(obj) if obj is not None else None

    # -- construction from the kernel ------------------------------------------------------

    @classmethod
    def from_fd(cls, fd: FD | int) -> Program:
        """Wrap a loaded program's fd (taking ownership)."""
        from pybpf.sys.info import prog_info

        owned = fd if isinstance(fd, FD) else FD(fd, "prog")
        info = prog_info(owned)
        return cls(info.name, info.type, fd=owned)

    @classmethod
    def from_id(cls, prog_id: int) -> Program:
        """Open a loaded program by kernel id."""
        from pybpf.sys.objects import get_fd_by_id

        return cls.from_fd(get_fd_by_id("prog", prog_id))

    @classmethod
    def from_pin(cls, path: str | os.PathLike[str]) -> Program:
        """Open a program pinned on bpffs."""
        from pybpf.sys.objects import obj_get

        return cls.from_fd(obj_get(os.fspath(path)))

    # -- instructions before load ---------------------------------------------------------

    @property
    def instructions(self) -> list[Instruction]:
        """The entry function's instructions, editable until load (cilium's ProgramSpec).

        Each relocated instruction carries the symbol it refers to in ``.reference``;
        a symbol nothing defines (``r0 = MY_CONST ll`` in inline asm) must be patched
        before load: replace the instruction and leave ``reference`` None, or call
        :meth:`resolve_symbol`. Edits keep every instruction's size. Example::

            i = next(i for i, ins in enumerate(prog.instructions) if ins.reference == "MY_CONST")
            prog.instructions[i] = Instruction.ld_imm64(prog.instructions[i].dst, 42)
        """
        if self._instructions is None:
            import dataclasses

            from pybpf.asm.insn import decode

            obj = self.object
            if obj is None or self.name not in obj.spec.programs:
                raise BPFError(f"program {self.name!r} has no instructions from an object")
            spec = obj.spec.programs[self.name]
            refs = {r.insn_index: r.function or r.symbol or r.target for r in spec.relocations}
            self._instructions = [
                dataclasses.replace(ins, reference=refs[ins.slot]) if ins.slot in refs else ins
                for ins in decode(spec.insns, section=spec.section)
            ]
        return self._instructions

    @property
    def edited_instructions(self) -> list[Instruction] | None:
        """The instructions as edited through :attr:`instructions` (None: never touched)."""
        return self._instructions

    def resolve_symbol(self, name: str, value: int) -> int:
        """Load ``value`` wherever the program's ld_imm64 instructions reference ``name``
        (a symbol the object leaves undefined); returns how many were patched.

        Example: ``obj.programs["p"].resolve_symbol("MY_CONST", 42)``
        """
        from pybpf.asm.insn import Instruction

        insns = self.instructions
        count = 0
        for i, ins in enumerate(insns):
            if ins.reference == name and ins.is_ld_imm64:
                insns[i] = Instruction.ld_imm64(ins.dst, value)
                count += 1
        if not count:
            raise KeyError(f"program {self.name!r} has no ld_imm64 referencing {name!r}")
        return count

    # -- fd --------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the program is in the kernel and this handle is open."""
        return self._fd is not None and not self._fd.closed

    @property
    def fd(self) -> int:
        """The program's fd number (raises if not loaded)."""
        if self._fd is None:
            reason = "autoload is off" if not self.autoload else "call obj.load() first"
            raise BPFError(f"program {self.name!r} is not loaded: {reason}")
        return self._fd.fileno()

    def adopt_fd(self, fd: FD) -> None:
        """Take ownership of the fd of this program once the loader has loaded it."""
        self._fd = fd

    def close(self) -> None:
        """Close this handle; the kernel unloads the program once nothing holds it."""
        if self._fd is not None:
            self._fd.close()
        if self.attach_btf_obj_fd is not None:
            self.attach_btf_obj_fd.close()

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = self.prog_type.name if isinstance(self.prog_type, ProgType) else self.prog_type
        state = f"fd={self._fd.fileno()}" if self.loaded and self._fd else "not loaded"
        return f"<Program {self.name!r} {kind} section={self.section!r} {state}>"

    # -- running and introspection ---------------------------------------------------------

    def test_run(
        self,
        data_in: bytes = b"",
        ctx: bytes | None = None,
        *,
        repeat: int = 0,
        data_size_out: int | None = None,
        ctx_size_out: int | None = None,
        flags: int = 0,
        cpu: int = 0,
    ) -> RunResult:
        """Run the program in the kernel on ``data_in``/``ctx`` (BPF_PROG_TEST_RUN).

        ``repeat`` 0 means once (syscall programs accept nothing else). A syscall
        program's ``ctx_out`` is its ctx as the program left it.
        """
        from pybpf.sys.progs import prog_test_run

        if self.prog_type == ProgType.SYSCALL:
            if repeat > 1 or ctx_size_out:
                raise ValueError(
                    f"program {self.name!r}: syscall programs run once (repeat 0 or 1) and "
                    "return their ctx in place (no ctx_size_out)"
                )
            repeat, ctx_size_out = 0, None
        return prog_test_run(
            self.fd,
            data_in=data_in,
            ctx_in=ctx or b"",
            repeat=repeat,
            data_out_size=data_size_out,
            ctx_out_size=ctx_size_out,
            flags=flags,
            cpu=cpu,
            prog_type=self.prog_type,
        )

    def info(self) -> Any:
        """The kernel's ``bpf_prog_info`` for this program."""
        from pybpf.sys.info import prog_info

        return prog_info(self.fd)

    @property
    def id(self) -> int:
        """Kernel id."""
        return int(self.info().id)

    @property
    def tag(self) -> str:
        """The program tag (hash of its instructions) as hex."""
        return str(self.info().tag)

    def xlated(self) -> bytes:
        """The instructions as the kernel rewrote them (``bpftool prog dump xlated``)."""
        from pybpf.sys.info import prog_xlated_insns

        return prog_xlated_insns(self.fd)

    def jited(self) -> bytes:
        """The JIT-compiled machine code."""
        from pybpf.sys.info import prog_jited_insns

        return prog_jited_insns(self.fd)

    def pin(self, path: str | os.PathLike[str], *, mount: bool | None = None) -> None:
        """Pin the program on bpffs at ``path`` (mode 0600; the same checks as
        :meth:`pybpf.Map.pin`)."""
        from pybpf.sys.fs import prepare_pin
        from pybpf.sys.objects import obj_pin

        obj_pin(self.fd, os.fspath(prepare_pin(path, mount=mount)))

    @staticmethod
    def unpin(path: str | os.PathLike[str]) -> None:
        """Remove a pin."""
        os.unlink(path)

    def set_attach_target(self, target: Program | int, function: str) -> None:
        """Make this freplace program replace global ``function`` of loaded program ``target``
        (a Program or a program fd); call before load (libbpf's set_attach_target).

        Example: ``obj.programs["new_handler"].set_attach_target(other_prog, "handler")``.
        """
        if self.loaded:
            raise ValueError(f"program {self.name!r} is loaded: set its attach target before load")
        self.attach_prog_fd = target.fd if isinstance(target, Program) else int(target)
        self.attach_target = function
        self.attach_btf_id = 0

    # -- attaching -------------------------------------------------------------------------

    def attach(self, *args: Any, **kwargs: Any) -> Link:
        """Attach where the section name says (``tp/sched/sched_process_exec`` ...).

        Extra arguments go to the hook-specific attach (e.g. an interface for XDP).
        """
        from pybpf.link.attach import attach_program

        return attach_program(self, *args, **kwargs)

    # Explicit attaches, whatever the section says (libbpf's bpf_program__attach_*).

    def attach_tracepoint(self, category: str, name: str, *, cookie: int = 0) -> Link:
        """Attach to tracepoint ``category:name`` (perf event + BPF link)."""
        from pybpf.link.tracepoint import attach_tracepoint

        return attach_tracepoint(self.fd, category, name, prog_name=self.name, cookie=cookie)

    def attach_raw_tracepoint(self, name: str, *, cookie: int = 0) -> Link:
        """Attach a raw_tp program to kernel tracepoint ``name``."""
        from pybpf.link.tracepoint import attach_raw_tracepoint

        return attach_raw_tracepoint(self.fd, name, prog_name=self.name, cookie=cookie)

    def attach_kprobe(
        self, function: str, *, offset: int = 0, retprobe: bool = False, cookie: int = 0
    ) -> Link:
        """Attach a kprobe (or kretprobe) to kernel ``function``."""
        from pybpf.link.kprobe import attach_kprobe

        return attach_kprobe(
            self.fd, function, prog_name=self.name, offset=offset, retprobe=retprobe, cookie=cookie
        )

    def attach_uprobe(
        self,
        binary: str,
        symbol: str | None = None,
        offset: int = 0,
        *,
        pid: int = -1,
        retprobe: bool = False,
        cookie: int = 0,
    ) -> Link:
        """Attach a uprobe (or uretprobe) to ``binary`` at ``symbol + offset``."""
        from pybpf.link.uprobe import attach_uprobe

        return attach_uprobe(
            self.fd,
            binary,
            symbol,
            offset,
            prog_name=self.name,
            pid=pid,
            retprobe=retprobe,
            cookie=cookie,
        )

    def attach_xdp(self, interface: int | str, *, mode: str = "auto", flags: int = 0) -> Link:
        """Attach an XDP program to ``interface`` (name or index)."""
        from pybpf.link.xdp import attach_xdp

        return attach_xdp(self.fd, interface, mode=mode, flags=flags, prog_name=self.name)

    def attach_tcx(self, interface: int | str, direction: str = "ingress") -> Link:
        """Attach a tc program with a tcx link (``ingress``/``egress``)."""
        from pybpf.link.tc import attach_tcx

        return attach_tcx(self.fd, interface, direction=direction, prog_name=self.name)

    def attach_cgroup(self, cgroup: Any, attach_type: AttachType | int | None = None) -> Link:
        """Attach to a cgroup v2 (path, name under the v2 root, or fd)."""
        from pybpf.link.cgroup import attach_cgroup

        kind = attach_type if attach_type is not None else self.expected_attach_type
        return attach_cgroup(self.fd, cgroup, attach_type=kind, prog_name=self.name)

    def attach_socket(self, sock: Any) -> Link:
        """Attach a socket filter to a Python socket (SO_ATTACH_BPF)."""
        from pybpf.link.socket import attach_socket

        return attach_socket(self.fd, sock, prog_name=self.name)

    def attach_perf_event(self, perf_fd: Any) -> Link:
        """Attach to an open perf event fd."""
        from pybpf.link.perf_event import attach_perf_event

        return attach_perf_event(self.fd, perf_fd, prog_name=self.name)

    def attach_iter(self, **options: Any) -> Link:
        """Create the iterator link of an ``iter/...`` program (readable as a file)."""
        from pybpf.link.iter import attach_iter

        return attach_iter(self.fd, prog_name=self.name, target=self.attach_target or "", **options)

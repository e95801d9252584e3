"""Load an object's programs: CO-RE, linking, fd fixups, BPF_PROG_LOAD, readable errors."""

from __future__ import annotations

import errno
import os
import re
from typing import TYPE_CHECKING, Any

from pybpf.errors import (
    CoreRelocationError,
    ExternError,
    NotSupportedError,
    ProgramLoadError,
    RelocationError,
    VerifierError,
)
from pybpf.loader.linker import INSN, LinkedProgram, link_program, set_imm64, set_insn
from pybpf.sys.progs import trampoline_error, trampoline_refused
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType, ProgFlags, ProgType

if TYPE_CHECKING:
    from pybpf.btf.core import CoreResolver, CoreResult
    from pybpf.elf.programs import ProgramSpec
    from pybpf.ksyms import KsymResolution
    from pybpf.object import Object
    from pybpf.program import Program
    from pybpf.sys.fd import FD

__all__ = ["load_programs"]

PSEUDO_MAP_FD = 1
PSEUDO_MAP_VALUE = 2
PSEUDO_BTF_ID = 3
PSEUDO_KFUNC_CALL = 2
POISON_KFUNC_BASE = 2002000000  # libbpf's marker for a missing weak kfunc


class _Context:
    """Per-load state shared by the programs of one object."""

    def __init__(self, obj: Object) -> None:
        self.obj = obj
        spec = obj.spec
        self.functions: dict[str, ProgramSpec] = {**spec.subprograms, **spec.programs}
        self._code: dict[str, bytes] = {}
        self.core: dict[str, list[CoreResult]] = {}
        self._resolver: CoreResolver | None = None
        self._ksyms: dict[str, KsymResolution] | None = None
        #: ksym/kfunc externs that the programs being loaded reference (None: all)
        self.used_ksyms: set[str] | None = None
        self._module_fds: dict[str, FD] = {}

    # CO-RE ------------------------------------------------------------------------------

    def code_of(self, f: ProgramSpec) -> bytes:
        """``f``'s instructions with its CO-RE relocations applied (computed once)."""
        code = self._code.get(f.name)
        if code is not None:
            return code
        code = f.insns
        if f.core_relos:
            from pybpf.asm.insn import decode, encode

            spec = self.obj.spec
            assert spec.btf is not None
            if self._resolver is None:
                from pybpf.btf.core import CoreResolver, CoreTarget

                custom = self.obj.btf_custom_path
                target = CoreTarget.kernel(None if custom is None else os.fspath(custom))
                self._resolver = CoreResolver(spec.btf, target)
            insns, results = self._resolver.relocate(
                f.core_relos, decode(code, section=f.section), program=f.name, section=f.section
            )
            code = encode(insns)
            if len(code) != len(f.insns):
                raise CoreRelocationError(
                    f"CO-RE patching changed the size of {f.name!r}",
                    file=spec.file,
                    section=f.section,
                )
            self.core[f.name] = results
            self.obj.core_results[f.name] = results
            if self.obj.verbose:
                for r in results:
                    self.obj._log(f"{f.name}: {r}")
        self._code[f.name] = code
        return code

    # externs ----------------------------------------------------------------------------

    def ksym(self, name: str) -> KsymResolution:
        if self._ksyms is None:
            from pybpf.elf.externs import ExternKind
            from pybpf.loader.externs import resolve_object_ksyms

            # only what loaded programs use: a strong ksym that only autoload=False
            # programs reference does not stop the load (libbpf resolves them all)
            used = self.used_ksyms
            exts = [
                e
                for e in self.obj.spec.externs.values()
                if e.kind is ExternKind.KSYM and (used is None or e.name in used)
            ]
            self._ksyms = resolve_object_ksyms(self.obj, exts)
        return self._ksyms[name]

    def module_btf_fd(self, module: str) -> FD:
        fd = self._module_fds.get(module)
        if fd is None:
            fd = self.obj._module_btf_fd(module)
            self._module_fds[module] = fd
        return fd


def load_programs(obj: Object) -> None:
    """Link, relocate and load every autoload program of ``obj``."""
    from pybpf.elf.relocs import RelocKind

    ctx = _Context(obj)
    work = []
    for name, prog in obj.programs.items():
        if not prog.autoload:
            continue
        spec = _with_user_edits(obj, prog, obj.spec.programs[name])
        work.append(
            (prog, spec, link_program(spec, ctx.functions, ctx.code_of, file=obj.spec.file))
        )
    ctx.used_ksyms = {
        fx.reloc.target
        for _, _, linked in work
        for fx in linked.fixups
        if fx.reloc.kind in (RelocKind.KSYM, RelocKind.KFUNC)
    }
    for prog, spec, linked in work:
        fd_array = _apply_fixups(ctx, linked, prog)
        _load_one(ctx, prog, spec, linked, fd_array)


def _with_user_edits(obj: Object, prog: Program, spec: ProgramSpec) -> ProgramSpec:
    """``spec`` with the instructions the user edited through ``prog.instructions``.

    An instruction whose ``reference`` was cleared drops its relocation (the user
    gave its value); sizes and references may not change otherwise.
    """
    insns = prog._instructions
    if insns is None:
        return spec
    import dataclasses

    from pybpf.asm.insn import encode

    code = encode(insns)

    def err(msg: str) -> RelocationError:
        return RelocationError(
            f"edited instructions: {msg}",
            file=obj.spec.file,
            section=spec.section,
            program=prog.name,
        )

    if len(code) != len(spec.insns):
        raise err(
            f"{len(code) // INSN} slots instead of {len(spec.insns) // INSN}: only in-place "
            "edits that keep every instruction's size are supported"
        )
    at: dict[int, Any] = {}
    slot = 0
    for ins in insns:
        at[slot] = ins
        slot += ins.width
    kept = []
    for r in spec.relocations:
        found = at.get(r.insn_index)
        if found is None:
            raise err(f"instruction {r.insn_index} (relocated against {r.symbol!r}) was split")
        if found.reference is None:
            continue  # resolved by the user
        if found.reference != (r.function or r.symbol or r.target):
            raise err(
                f"instruction {r.insn_index}: reference {found.reference!r} cannot replace "
                f"{r.symbol or r.target!r} (clear it and set the value instead)"
            )
        kept.append(r)
    return dataclasses.replace(spec, insns=code, relocations=tuple(kept))


def _data_map_fd(obj: Object, section: str) -> int:
    return obj._data_map(section).fd


def _apply_fixups(ctx: _Context, linked: LinkedProgram, prog: Program) -> list[int]:
    """Write map fds, data addresses and extern values into ``linked.code``."""
    from pybpf.elf.relocs import RelocKind

    obj = ctx.obj
    code = linked.code
    fd_array: list[int] = []
    for fx in linked.fixups:
        r, slot = fx.reloc, fx.slot
        try:
            if r.kind is RelocKind.MAP:
                m = obj.maps[r.target]
                if not m.created:
                    raise RelocationError(
                        f"uses map {r.target!r}, which was not created (autocreate is off)",
                        file=obj.spec.file,
                        program=prog.name,
                    )
                set_imm64(code, slot, m.fd, src=PSEUDO_MAP_FD)
                if r.offset:
                    set_imm64(code, slot, m.fd | (r.offset << 32), src=PSEUDO_MAP_VALUE)
            elif r.kind is RelocKind.DATA:
                set_imm64(
                    code, slot, _data_map_fd(obj, r.target) | (r.offset << 32), src=PSEUDO_MAP_VALUE
                )
            elif r.kind is RelocKind.KCONFIG:
                assert r.extern is not None
                fd = _data_map_fd(obj, ".kconfig")
                set_imm64(
                    code, slot, fd | ((r.extern.offset + r.offset) << 32), src=PSEUDO_MAP_VALUE
                )
            elif r.kind is RelocKind.KSYM:
                _fix_ksym(ctx, code, slot, r.target)
            elif r.kind is RelocKind.KFUNC:
                _fix_kfunc(ctx, code, slot, r.target, fd_array)
            elif r.kind is RelocKind.SYMBOL:
                where = fx.function if fx.function == prog.name else f"function {fx.function!r}"
                raise RelocationError(
                    f"instruction {r.insn_index} of {where} loads symbol {r.target!r}, which "
                    "the object does not define and is no BTF extern (inline asm?): give it a "
                    f"value before load, e.g. obj.programs[{prog.name!r}].resolve_symbol("
                    f"{r.target!r}, value), or edit .instructions",
                    file=obj.spec.file,
                    section=prog.section,
                    program=prog.name,
                )
        except KeyError as exc:
            raise RelocationError(
                f"relocation against {r.target!r} ({r.kind.value}) at insn {slot}: {exc}",
                file=obj.spec.file,
                program=prog.name,
            ) from exc
    return fd_array


def _fix_ksym(ctx: _Context, code: bytearray, slot: int, name: str) -> None:
    res = ctx.ksym(name)
    if res.kind == "addr" or not res.found:
        set_imm64(code, slot, res.address if res.found else 0, src=0)
        return
    btf_fd = ctx.module_btf_fd(res.btf_name).fileno() if res.in_module and res.btf_name else 0
    set_imm64(code, slot, res.btf_id | (btf_fd << 32), src=PSEUDO_BTF_ID)


def _fix_kfunc(ctx: _Context, code: bytearray, slot: int, name: str, fd_array: list[int]) -> None:
    res = ctx.ksym(name)
    if not res.found:
        # a missing weak kfunc: an invalid helper id the verifier only rejects if reached
        set_insn(code, slot, src=0, imm=POISON_KFUNC_BASE, off=0)
        return
    index = 0
    if res.in_module and res.btf_name:
        fd = ctx.module_btf_fd(res.btf_name).fileno()
        if not fd_array:
            fd_array.append(0)  # index 0 means vmlinux
        if fd not in fd_array[1:]:
            fd_array.append(fd)
        index = fd_array.index(fd, 1)
    set_insn(code, slot, src=PSEUDO_KFUNC_CALL, imm=res.btf_id, off=index)


# -- load ------------------------------------------------------------------------------------

_TRACING_PREFIX = {
    AttachType.TRACE_RAW_TP: ("btf_trace_", "typedef"),
    AttachType.TRACE_FENTRY: ("", "func"),
    AttachType.TRACE_FEXIT: ("", "func"),
    AttachType.MODIFY_RETURN: ("", "func"),
    AttachType.TRACE_ITER: ("bpf_iter_", "func"),
    AttachType.LSM_MAC: ("bpf_lsm_", "func"),
    AttachType.LSM_CGROUP: ("bpf_lsm_", "func"),
}


def _attach_btf_id(ctx: _Context, prog: Program) -> tuple[int, FD | None]:
    """The kernel BTF id (and module BTF fd) a tracing/LSM/iter program attaches to."""
    from pybpf.btf import Kind

    eat = prog.expected_attach_type
    if prog.prog_type == ProgType.EXT and not prog.attach_btf_id:
        return _freplace_btf_id(ctx, prog), None
    if prog.attach_btf_id or eat not in _TRACING_PREFIX or not prog.attach_target:
        return prog.attach_btf_id, None
    if prog.prog_type not in (ProgType.TRACING, ProgType.LSM):
        return 0, None
    prefix, what = _TRACING_PREFIX[AttachType(eat)]
    name = prefix + prog.attach_target
    kind = Kind.TYPEDEF if what == "typedef" else Kind.FUNC
    from pybpf.ksyms import KernelBTFs

    found = KernelBTFs(ctx.obj.kernel_btf, lambda: ctx.obj.module_btfs()).find(name, kind)
    if found is None:
        raise RelocationError(
            f"attach target {prog.attach_target!r} not found in kernel BTF (looked for {name!r})",
            file=ctx.obj.spec.file,
            section=prog.section,
            program=prog.name,
        )
    btf_name, _, type_id = found
    if btf_name == "vmlinux":
        return type_id, None
    return type_id, ctx.obj._module_btf_fd(btf_name)


def _freplace_btf_id(ctx: _Context, prog: Program) -> int:
    """BTF id of the function a freplace program replaces, in its target program's BTF."""
    from pybpf.btf import BTF, Kind
    from pybpf.sys import info

    def error(msg: str) -> RelocationError:
        return RelocationError(msg, file=ctx.obj.spec.file, section=prog.section, program=prog.name)

    if prog.attach_prog_fd is None or not prog.attach_target:
        raise error(
            "a freplace program needs its target: call "
            "prog.set_attach_target(target_program, 'function') before load"
        )
    btf_id = info.prog_info(prog.attach_prog_fd).btf_id
    if not btf_id:
        raise error("the freplace target program was loaded without BTF: no function to find")
    btf = BTF.from_bytes(info.btf_raw_by_id(btf_id))
    ids = btf.find(prog.attach_target, Kind.FUNC)
    if not ids:
        raise error(f"the freplace target program has no function {prog.attach_target!r}")
    return int(ids[0])


def _kern_version(obj: Object, prog: Program) -> int:
    # Before Linux 5.0 BPF_PROG_LOAD refused kprobe programs whose kern_version was not
    # the running LINUX_VERSION_CODE (the check went in 5.0, commit 6c4fc209fcf9); an
    # object's "version" section wins, as in libbpf. Other types never looked at it.
    if obj.spec.kern_version:
        return obj.spec.kern_version
    if prog.prog_type == ProgType.KPROBE:
        from pybpf.kconfig import kernel_version

        return kernel_version()
    return 0


def _load_one(
    ctx: _Context, prog: Program, spec: ProgramSpec, linked: LinkedProgram, fd_array: list[int]
) -> None:
    from pybpf.btf.ext import encode_func_info, encode_line_info
    from pybpf.sys.progs import prog_load_log

    obj = ctx.obj
    flags = prog.flags
    if spec.sec is not None:
        if spec.sec.sleepable:
            flags |= ProgFlags.SLEEPABLE
        if getattr(spec.sec, "xdp_frags", False):
            flags |= ProgFlags.XDP_HAS_FRAGS
    btf_fd = obj._btf_fd
    func_info = line_info = b""
    # func/line info only when every linked function has its FUNC record
    if btf_fd is not None and obj.spec.btf is not None and linked.has_full_func_info:
        func_info = encode_func_info(linked.func_info)
        line_info = encode_line_info(linked.line_info, obj.spec.btf)
    attach_btf_id, attach_obj_fd = _attach_btf_id(ctx, prog)
    if attach_obj_fd is not None:
        prog.attach_btf_obj_fd = attach_obj_fd
    eat = prog.expected_attach_type
    try:
        fd, log = prog_load_log(
            prog.prog_type,
            bytes(linked.code),
            license=obj.spec.license or "",
            name=prog.name,
            log_level=prog.log_level or obj.log_level,
            **({"log_size": prog.log_size} if prog.log_size else {}),
            kern_version=_kern_version(obj, prog),
            flags=flags,
            expected_attach_type=int(eat) if eat is not None else 0,
            btf_fd=btf_fd if func_info else None,
            func_info=func_info,
            func_info_rec_size=8 if func_info else 0,
            line_info=line_info,
            line_info_rec_size=16 if line_info else 0,
            attach_btf_id=attach_btf_id,
            attach_btf_obj_fd=attach_obj_fd,
            **({"attach_prog_fd": prog.attach_prog_fd} if prog.attach_prog_fd is not None else {}),
            fd_array=fd_array or None,
        )
    except ProgramLoadError as exc:
        too_new = _too_new(prog, bytes(linked.code), exc)
        if too_new is not None:
            raise too_new from exc
        if isinstance(exc, VerifierError):
            raise _explain_verifier(ctx, prog, linked, exc) from exc
        err = _explain_load(prog, exc)
        raise err from (None if err is exc else exc)
    prog.verifier_log = log
    prog._attach_fd(fd)
    obj._log(f"loaded program {prog.name!r} ({len(linked.code) // INSN} insns) fd={fd.fileno()}")


def _line_lookup(ctx: _Context, linked: LinkedProgram) -> Any:
    infos = sorted(linked.line_info, key=lambda li: li.insn_off)

    def lookup(insn: int) -> tuple[str, int, str] | None:
        best = None
        for li in infos:
            if li.insn_off // INSN <= insn:
                best = li
            else:
                break
        if best is None:
            return None
        return best.file_name, best.line, best.line_text

    return lookup


def _explain_verifier(
    ctx: _Context, prog: Program, linked: LinkedProgram, exc: VerifierError
) -> Exception:
    """A VerifierError with a summary and C source line, or the failed CO-RE relocation."""
    from pybpf.btf.core import failed_relocation_at
    from pybpf.loader.verifier import summarize_log  # only when the verifier said no

    summary = summarize_log(exc.log, _line_lookup(ctx, linked))
    if summary.insn_index is not None:
        where = linked.function_at(summary.insn_index)
        if where is not None:
            func, local = where
            failed = failed_relocation_at(ctx.core.get(func, []), local)
            if failed is not None:
                err = CoreRelocationError(
                    failed.failure_message(prog.name, summary.location),
                    file=ctx.obj.spec.file,
                    section=prog.section,
                    program=None,
                )
                err.__cause__ = exc
                err.log = exc.log
                return err
    if trampoline_refused(exc.errno or 0, prog.expected_attach_type, prog.prog_type):
        return _trampoline(prog, exc.errno or 0)
    missing = _missing_helper(prog, exc.log)
    if missing is not None:
        return missing
    from pybpf.loader.hints import hint_for

    hint = hint_for(exc.log, summary.reason)
    line = f"{summary.source_file}:{summary.source_line}" if summary.source_file else None
    return VerifierError(
        prog.name,
        exc.errno or 0,
        exc.log,
        summary=str(summary),
        source=summary.location,
        truncated=exc.truncated,
        hint=hint.text(line) if hint else None,
        hint_key=hint.key if hint else None,
    )


def _too_new(prog: Program, code: bytes, exc: ProgramLoadError) -> NotSupportedError | None:
    """After a refused load: the program's type, attach type or a helper it calls that
    is newer than this kernel, as a NotSupportedError naming it and its first version."""
    from pybpf.sys import kversions
    from pybpf.uapi.enums import FuncId

    if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, ENOTSUPP):
        return None
    kind = prog.sec.name.split("/")[0] if prog.sec is not None else "this"
    candidates: list[tuple[str, str]] = []
    pt = _enum_name(ProgType, prog.prog_type)
    if pt in kversions.PROG_TYPE_SINCE:
        candidates.append((f"{kind} programs (BPF_PROG_TYPE_{pt})", kversions.PROG_TYPE_SINCE[pt]))
    at = _enum_name(AttachType, prog.expected_attach_type)
    if at in kversions.ATTACH_SINCE:
        candidates.append((f"{kind} programs (BPF_{at})", kversions.ATTACH_SINCE[at]))
    for i in range(0, len(code) - 7, INSN):
        if code[i] == 0x85 and code[i + 1] >> 4 == 0:  # call of a helper (src_reg 0)
            helper = int.from_bytes(code[i + 4 : i + 8], "little", signed=True)
            try:
                name = FuncId(helper).name
            except ValueError:
                continue
            since = kversions.helper_since(name)
            if since is not None:
                candidates.append((f"BPF helper bpf_{name}", since))
    for feature, since in candidates:
        if kversions.before(since):
            err = NotSupportedError(
                f"{feature}, used by program {prog.name!r}",
                f"the kernel refused the program ({os.strerror(exc.errno or 0)}); run it on "
                f"Linux {since}+ "
                "or leave it out (autoload off)",
                errno=exc.errno or 0,
                min_kernel=since,
            )
            err.log = exc.log
            return err
    return None


def _enum_name(enum: Any, value: Any) -> str:
    try:
        return str(enum(value).name) if value is not None else ""
    except ValueError:
        return ""


_UNKNOWN_HELPER = re.compile(r"(?:invalid|unknown) func (\S+)#(\d+)")


def _missing_helper(prog: Program, log: str) -> NotSupportedError | None:
    """NotSupportedError for a helper the kernel does not know (older than the helper)."""
    from pybpf.sys import kversions
    from pybpf.uapi.enums import FuncId

    m = _UNKNOWN_HELPER.search(log or "")
    if m is None:
        return None
    try:
        name = FuncId(int(m.group(2))).name
    except ValueError:
        name = m.group(1).removeprefix("bpf_")
    since = kversions.helper_since(name)
    if since is None or not kversions.before(since):
        return None  # known to this kernel: refused for this program type (verifier's word)
    err = NotSupportedError(
        f"BPF helper bpf_{name} (program {prog.name!r})",
        "the kernel's verifier does not know this helper; guard the call with "
        f"bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_{name}) or run on a newer kernel",
        errno=errno.EINVAL,
        min_kernel=since,
    )
    err.log = log
    return err


def _trampoline(prog: Program, err: int) -> Exception:
    kind = prog.sec.name.split("/")[0] if prog.sec is not None else "fentry"
    return trampoline_error(err, kind=kind, program=prog.name, target=prog.attach_target or "")


_KSYM_ADDR = re.compile(r"ldimm64 failed to find the address for kernel symbol '([^']+)'")


def _explain_load(prog: Program, exc: ProgramLoadError) -> Exception:
    if trampoline_refused(exc.errno or 0, prog.expected_attach_type, prog.prog_type):
        return _trampoline(prog, exc.errno or 0)
    m = _KSYM_ADDR.search(exc.log or "")
    if m:
        err = ExternError(
            f"typed ksym {m.group(1)!r} has a BTF id but the kernel cannot find its address: "
            "kallsyms lists no data symbols on this kernel (CONFIG_KALLSYMS_ALL is off); "
            "per-CPU and other data ksyms cannot be used here",
            program=prog.name,
            section=prog.section,
        )
        err.errno = exc.errno or 0
        err.log = exc.log
        return err
    return exc

"""Load a planned program: fds patched in, BPF_PROG_LOAD, and readable errors when refused."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pybpf.errors import (
    CoreRelocationError,
    ExternError,
    NotSupportedError,
    ProgramLoadError,
    RelocationError,
    VerifierError,
)
from pybpf.plan.linker import INSN, LinkedProgram, set_imm64
from pybpf.sys.progs import trampoline_error, trampoline_refused
from pybpf.sys.syscall import ENOTSUPP
from pybpf.uapi.enums import AttachType, ProgType

if TYPE_CHECKING:
    from pybpf.loader.load import Handles
    from pybpf.map import Map
    from pybpf.plan.model import ProgramPlan
    from pybpf.program import Program

__all__ = ["load_program"]

PSEUDO_BTF_ID = 3


def load_program(
    pp: ProgramPlan,
    prog: Program,
    maps: Mapping[str, Map],
    handles: Handles,
    *,
    file: str | None = None,
) -> None:
    """Patch ``pp``'s fds in, load it (BPF_PROG_LOAD) and hand the fd to ``prog``."""
    from pybpf.sys.progs import prog_load_log

    code = bytearray(pp.code)
    _patch_fds(pp, code, maps, handles)
    fd_array = [0, *(handles.module_btf_fd(m).fileno() for m in pp.fd_array)]
    btf_fd = handles.btf_fd
    with_info = btf_fd is not None and bool(pp.func_info)
    attach_btf_id = pp.attach_btf_id
    if pp.freplace:
        attach_btf_id = _freplace_btf_id(pp, prog, file)
    attach_obj_fd = None
    if pp.attach_btf_module is not None:
        attach_obj_fd = handles.module_btf_fd(pp.attach_btf_module).dup()
        prog.attach_btf_obj_fd = attach_obj_fd  # closed with the program
    eat = pp.expected_attach_type
    handles.sent[pp.name] = bytes(code)
    try:
        fd, log = prog_load_log(
            pp.prog_type,
            bytes(code),
            license=pp.license,
            name=pp.name,
            log_level=pp.log_level,
            **({"log_size": pp.log_size} if pp.log_size else {}),
            kern_version=pp.kern_version,
            flags=pp.flags,
            expected_attach_type=int(eat) if eat is not None else 0,
            btf_fd=btf_fd if with_info else None,
            func_info=pp.func_info if with_info else b"",
            func_info_rec_size=8 if with_info else 0,
            line_info=pp.line_info if with_info else b"",
            line_info_rec_size=16 if with_info and pp.line_info else 0,
            attach_btf_id=attach_btf_id,
            attach_btf_obj_fd=attach_obj_fd,
            **({"attach_prog_fd": prog.attach_prog_fd} if prog.attach_prog_fd is not None else {}),
            fd_array=fd_array if pp.fd_array else None,
        )
    except ProgramLoadError as exc:
        too_new = _too_new(pp, bytes(code), exc)
        if too_new is not None:
            raise too_new from exc
        if isinstance(exc, VerifierError):
            assert pp.linked is not None
            raise _explain_verifier(pp, pp.linked, exc, file) from exc
        err = _explain_load(pp, exc)
        raise err from (None if err is exc else exc)
    prog.verifier_log = log
    prog.adopt_fd(fd)
    handles.log(f"loaded program {pp.name!r} ({len(code) // INSN} insns) fd={fd.fileno()}")


def _patch_fds(pp: ProgramPlan, code: bytearray, maps: Mapping[str, Map], handles: Handles) -> None:
    """Write the fds the plan left as patches into ``code``."""
    for p in pp.patches:
        kind, name = p.ref
        fd = maps[name].fd if kind == "map" else handles.module_btf_fd(name).fileno()
        if p.how == "btf_obj":  # ksym in a module: BTF id below, the module's BTF fd above
            lo = int.from_bytes(code[p.slot * INSN + 4 : p.slot * INSN + 8], "little")
            set_imm64(code, p.slot, lo | (fd << 32), src=PSEUDO_BTF_ID)
        else:
            set_imm64(code, p.slot, fd | (p.offset << 32), src=p.src)


def _freplace_btf_id(pp: ProgramPlan, prog: Program, file: str | None) -> int:
    """BTF id of the function a freplace program replaces, in its target program's BTF."""
    from pybpf.btf import BTF, Kind
    from pybpf.sys import info

    def error(msg: str) -> RelocationError:
        return RelocationError(msg, file=file, section=pp.section, program=pp.name)

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


def _line_lookup(linked: LinkedProgram) -> Any:
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
    prog: ProgramPlan, linked: LinkedProgram, exc: VerifierError, file: str | None
) -> Exception:
    """A VerifierError with a summary and C source line, or the failed CO-RE relocation."""
    from pybpf.btf.core import failed_relocation_at
    from pybpf.loader.verifier import summarize_log  # only when the verifier said no

    summary = summarize_log(exc.log, _line_lookup(linked))
    if summary.insn_index is not None:
        where = linked.function_at(summary.insn_index)
        if where is not None:
            func, local = where
            failed = failed_relocation_at(prog.core.get(func, []), local)
            if failed is not None:
                err = CoreRelocationError(
                    failed.failure_message(prog.name, summary.location),
                    file=file,
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


def _too_new(prog: ProgramPlan, code: bytes, exc: ProgramLoadError) -> NotSupportedError | None:
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


_UNKNOWN_HELPER = r"(?:invalid|unknown) func (\S+)#(\d+)"  # (compiled on first use)


def _missing_helper(prog: ProgramPlan, log: str) -> NotSupportedError | None:
    """NotSupportedError for a helper the kernel does not know (older than the helper)."""
    from pybpf.sys import kversions
    from pybpf.uapi.enums import FuncId

    m = re.search(_UNKNOWN_HELPER, log or "")
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


def _trampoline(prog: ProgramPlan, err: int) -> Exception:
    kind = prog.sec.name.split("/")[0] if prog.sec is not None else "fentry"
    return trampoline_error(err, kind=kind, program=prog.name, target=prog.attach_target or "")


_KSYM_ADDR = r"ldimm64 failed to find the address for kernel symbol '([^']+)'"  # (on first use)


def _explain_load(prog: ProgramPlan, exc: ProgramLoadError) -> Exception:
    if trampoline_refused(exc.errno or 0, prog.expected_attach_type, prog.prog_type):
        return _trampoline(prog, exc.errno or 0)
    m = re.search(_KSYM_ADDR, exc.log or "")
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

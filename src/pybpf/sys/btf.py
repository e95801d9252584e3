"""BPF_BTF_LOAD: hand a BTF blob to the kernel, with its log when it is refused."""

from __future__ import annotations

import ctypes
import errno

from pybpf.errors import KernelError
from pybpf.sys import syscall
from pybpf.sys._ffi import addr, c_buffer
from pybpf.sys.attrs import BtfLoadAttr
from pybpf.sys.fd import FD
from pybpf.sys.maps import FdLike, fdnum
from pybpf.uapi.enums import LOG_BUF_SIZE_MAX, Cmd

__all__ = ["BTFLoadError", "btf_load"]


class BTFLoadError(KernelError):
    """The kernel refused a BTF blob; ``log`` is the kernel's BTF verifier log."""

    def __init__(self, op: str, err: int, log: str = "", *, hint: str | None = None) -> None:
        self.log = log
        lines = [ln for ln in log.strip().splitlines() if ln.strip()]
        super().__init__(op, err, " / ".join(lines[-2:]) or None, hint=hint)


def btf_load(
    data: bytes,
    *,
    log_level: int = 0,
    log_size: int = 64 * 1024,
    token_fd: FdLike | None = None,
    what: str = "BTF",
) -> FD:
    """Load ``data`` (header, types, strings) into the kernel and return the BTF fd.

    On failure the load is repeated with a log (grown until it fits) and
    :class:`BTFLoadError` carries it.
    """
    from pybpf.sys.memlock import ensure_memlock

    ensure_memlock()
    blob = c_buffer(data)
    attr = BtfLoadAttr(btf=addr(blob), btf_size=len(data), btf_token_fd=fdnum(token_fd))
    op = f"load {what}"
    if log_level == 0:
        try:
            return FD(syscall.bpf(Cmd.BTF_LOAD, attr, op=op), "btf")
        except KernelError:
            pass
    # the kernel refuses log buffers under 128 bytes (bpf_verifier_log_attr_valid())
    size = max(log_size, 128)
    while True:
        buf = ctypes.create_string_buffer(size)
        attr.btf_log_buf, attr.btf_log_size, attr.btf_log_level = addr(buf), size, log_level or 1
        attr.btf_log_true_size = 0
        try:
            return FD(syscall.bpf(Cmd.BTF_LOAD, attr, op=op), "btf")
        except KernelError as exc:
            if exc.errno == errno.ENOSPC and size < LOG_BUF_SIZE_MAX:
                # ENOSPC: the log did not fit; 6.4+ says how big it is (btf_log_true_size),
                # older kernels leave 0 there and the buffer grows fourfold
                need = int(attr.btf_log_true_size)
                size = min(need + 1 if need > size else size * 4, LOG_BUF_SIZE_MAX)
                continue
            log = buf.value.decode(errors="replace")
            raise BTFLoadError(op, exc.errno or 0, log, hint=exc.hint) from exc

/* Kernel-matrix tests (tests/matrix): trampoline programs (fentry, fexit, fmod_ret) and
 * BPF LSM, which attach on 5.10/6.1/6.12 and are refused on kernels without trampolines. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1

enum { C_FENTRY = 0, C_FEXIT = 1, C_MODRET = 2, C_LSM = 3, C_MAX = 4 };

__s64 counts[C_MAX];
__s64 last[C_MAX];
/* set by the test: its pid, the marked directory fd, who denies its opens (1: lsm, 2: fmod_ret) */
__s64 mx_pid = -1;
__s64 mx_dfd = -1;
__s64 mx_deny;

static __always_inline int is_target(void)
{
	return (__s64)(bpf_get_current_pid_tgid() >> 32) == mx_pid;
}

static __always_inline void hit(int slot, __s64 value)
{
	__sync_fetch_and_add(&counts[slot], 1);
	last[slot] = value;
}

SEC("fentry/do_sys_openat2")
int BPF_PROG(mx_fentry, int dfd, const char *filename, struct open_how *how)
{
	if (is_target() && dfd == mx_dfd)
		hit(C_FENTRY, how->flags);
	return 0;
}

SEC("fexit/do_sys_openat2")
int BPF_PROG(mx_fexit, int dfd, const char *filename, struct open_how *how, long ret)
{
	if (is_target() && dfd == mx_dfd)
		hit(C_FEXIT, ret);
	return 0;
}

/* fmod_ret on an LSM hook's security_* function (modifiable on every kernel; other
 * functions need CONFIG_FUNCTION_ERROR_INJECTION, which Debian leaves off): a non-zero
 * return skips the function and becomes its return value */
SEC("fmod_ret/security_file_open")
int BPF_PROG(mx_modret, struct file *file, int ret)
{
	if (!is_target())
		return 0;
	hit(C_MODRET, file->f_flags);
	return mx_deny == 2 ? -EPERM : 0;
}

SEC("lsm/file_open")
int BPF_PROG(mx_lsm, struct file *file, int ret)
{
	if (ret || !is_target())
		return ret;
	hit(C_LSM, file->f_flags);
	return mx_deny == 1 ? -EPERM : 0;
}

char LICENSE[] SEC("license") = "GPL";

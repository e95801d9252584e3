/* Kernel-matrix tests (tests/matrix): kprobe.multi (Linux 5.18+), one program on two
 * syscall functions, telling them apart by cookie. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__s64 mx_pid = -1;
__u64 by_cookie[4];

SEC("kprobe.multi/__x64_sys_getpgid")
int mx_multi(struct pt_regs *ctx)
{
	__u64 c = bpf_get_attach_cookie(ctx);

	if ((__s64)(bpf_get_current_pid_tgid() >> 32) == mx_pid && c < 4)
		__sync_fetch_and_add(&by_cookie[c], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

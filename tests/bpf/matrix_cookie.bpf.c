/* Kernel-matrix tests (tests/matrix): a kprobe reading its BPF cookie (Linux 5.15+). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__s64 mx_pid = -1;
__u64 seen_cookie;
__u64 hits;

SEC("kprobe/__x64_sys_getpgid")
int mx_cookie(struct pt_regs *ctx)
{
	if ((__s64)(bpf_get_current_pid_tgid() >> 32) != mx_pid)
		return 0;
	seen_cookie = bpf_get_attach_cookie(ctx);
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

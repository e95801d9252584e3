/* Kernel-matrix tests (tests/matrix): an XDP program calling a global function that
 * matrix_freplace.bpf.c replaces at run time. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u64 mx_result;

__noinline int mx_handler(int x)
{
	return x + 1;
}

SEC("xdp")
int mx_target(struct xdp_md *ctx)
{
	mx_result = mx_handler(41);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

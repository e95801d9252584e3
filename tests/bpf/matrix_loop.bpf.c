/* Kernel-matrix tests (tests/matrix): bpf_loop (Linux 5.17+), run by BPF_PROG_TEST_RUN. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u64 loop_sum;

static long add_index(__u32 index, void *ctx)
{
	loop_sum += index;
	return 0;
}

SEC("xdp")
int mx_loop(struct xdp_md *ctx)
{
	loop_sum = 0;
	bpf_loop(100, add_index, NULL, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// bpf_printk producer for pybpf's trace_pipe tests (seed 002's hello): a syscall
// program prints a token passed in its ctx, so a test can find its own line.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct args {
	__u64 token;
	__u64 value;
};

SEC("syscall")
int hello(struct args *ctx)
{
	bpf_printk("pybpf-hello token=%llu value=%llu", ctx->token, ctx->value);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

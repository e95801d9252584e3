/* Seed 002's hello: every execve says "Hello, BPF World!" through bpf_trace_printk. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_enter_execve")
int bpf_prog(struct trace_event_raw_sys_enter *ctx)
{
	char msg[] = "Hello, BPF World!";

	bpf_trace_printk(msg, sizeof(msg));
	return 0;
}

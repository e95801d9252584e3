/* Kernel-matrix tests (tests/matrix): a tracepoint sending this process's getppid()
 * calls to a ring buffer (5.8+) and a perf buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct mx_event {
	__u32 pid;
	__u32 seq;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} mx_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} mx_perf SEC(".maps");

__s64 mx_pid = -1;
__u32 mx_seq;

SEC("tp/syscalls/sys_enter_getppid")
int mx_emit(void *ctx)
{
	struct mx_event e = {};

	if ((__s64)(bpf_get_current_pid_tgid() >> 32) != mx_pid)
		return 0;
	e.pid = mx_pid;
	e.seq = mx_seq++; /* one test thread: no race (and v1 ISA has no fetch-add value) */
	bpf_ringbuf_output(&mx_ring, &e, sizeof(e), 0);
	bpf_perf_event_output(ctx, &mx_perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

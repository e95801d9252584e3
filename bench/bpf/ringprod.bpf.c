// SPDX-License-Identifier: GPL-2.0
/* Benchmark producer: on each getppid() of the bench process, emit `per_call`
 * records of REC_SIZE bytes into a ring buffer (-DPERF: a perf buffer instead).
 * A bounded loop, not bpf_loop, so BCC can run the same logic (bench/bcc/ringprod.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "rec.h"

const volatile __u32 target_tgid = 0;
const volatile __u32 per_call = 64;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec);
} scratch SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int produce(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 n = per_call;
	__u32 cpu = bpf_get_smp_processor_id();

	if ((id >> 32) != target_tgid)
		return 0;
#ifdef PERF
	__u32 zero = 0;
	struct rec *r = bpf_map_lookup_elem(&scratch, &zero);

	if (!r)
		return 0;
	for (__u32 i = 0; i < MAX_PER_CALL; i++) {
		if (i >= n)
			break;
		r->seq = i;
		r->pid = (__u32)id;
		r->cpu = cpu;
		bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, r, sizeof(*r));
	}
#else
	for (__u32 i = 0; i < MAX_PER_CALL; i++) {
		if (i >= n)
			break;
		struct rec *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);

		if (!r)
			break;
		r->seq = i;
		r->pid = (__u32)id;
		r->cpu = cpu;
		bpf_ringbuf_submit(r, 0);
	}
#endif
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

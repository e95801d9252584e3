// Perf-buffer producer for pybpf's event tests: a raw tracepoint program (run with
// BPF_PROG_TEST_RUN on a chosen CPU, or attached to sys_enter) emits args[0] samples
// of args[1] bytes (0: varying 8..128) with bpf_perf_event_output, counting failures.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct event {
	__u64 seq;
	__u64 words[15];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

struct loop_ctx {
	void *ctx;
	__u64 size;
};

/* referenced so the record layout is in the object's BTF (typed decoding) */
const struct event *unused_event __attribute__((unused));

__u64 next_seq = 0;
__u64 failed = 0;	/* outputs the kernel refused (no room in the CPU's ring) */
__u64 sent = 0;
__u32 target_pid = 0;	/* for the attached variant: only this process's syscalls */

static long emit(__u64 i, struct loop_ctx *lc)
{
	__u32 zero = 0;
	struct event *s = bpf_map_lookup_elem(&scratch, &zero);
	__u64 seq = __sync_fetch_and_add(&next_seq, 1);
	__u64 size = lc->size;

	if (!s)
		return 1;
	s->seq = seq;
	for (int j = 0; j < 15; j++)
		s->words[j] = seq * 31 + j;
	if (size == 0)
		size = 8 * (1 + seq % 16);
	if (size > sizeof(*s))
		size = sizeof(*s);
	if (bpf_perf_event_output(lc->ctx, &events, BPF_F_CURRENT_CPU, s, size))
		__sync_fetch_and_add(&failed, 1);
	else
		__sync_fetch_and_add(&sent, 1);
	return 0;
}

SEC("raw_tp")
int produce(struct bpf_raw_tracepoint_args *ctx)
{
	struct loop_ctx lc = { .ctx = ctx, .size = ctx->args[1] };

	bpf_loop(ctx->args[0], emit, &lc, 0);
	return 0;
}

SEC("raw_tp/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct loop_ctx lc = { .ctx = ctx, .size = 16 };

	if ((bpf_get_current_pid_tgid() >> 32) != target_pid || ctx->args[1] != 39 /* getpid */)
		return 0;
	emit(0, &lc);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

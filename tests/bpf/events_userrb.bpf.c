// User ring buffer consumer for pybpf's event tests: a syscall program drains
// records written from Python and sums their u64 values and sizes into its ctx.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} urb SEC(".maps");

struct totals {
	__u64 records;
	__u64 sum;
	__u64 bytes;
	__s64 drained;
};

static long on_record(struct bpf_dynptr *rec, struct totals *t)
{
	__u64 value = 0;

	t->records++;
	t->bytes += bpf_dynptr_size(rec);
	if (bpf_dynptr_read(&value, sizeof(value), rec, 0, 0) == 0)
		t->sum += value;
	return 0;
}

SEC("syscall")
int drain(struct totals *ctx)
{
	struct totals t = {};

	t.drained = bpf_user_ringbuf_drain(&urb, on_record, &t, 0);
	*ctx = t;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

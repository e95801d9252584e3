/* pybpf.h's histogram helpers and PYBPF_EVENT, run by BPF_PROG_TEST_RUN.
 * Python fills `in[]`; hh_run computes each helper on every value into the out
 * arrays, counts the values in a log2 and a linear PYBPF_HIST, and sends one
 * struct hh_event per value through the ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <pybpf.h>

char LICENSE[] SEC("license") = "GPL";

#define N 16
#define LIN_STEP 10
#define LIN_SLOTS 8

__u64 in[N];
__u32 out_log2[N];	/* log2((u32)v) */
__u32 out_log2l[N];	/* log2l(v) */
__u32 out_bcc[N];	/* bpf_log2l(v) */
__u32 out_slot[N];	/* PYBPF_LOG2_SLOT(v) */
__u32 out_lin[N];	/* PYBPF_LINEAR_SLOT(v, LIN_STEP, LIN_SLOTS) */

PYBPF_HIST(hh_log2, PYBPF_LOG2_SLOTS);
PYBPF_HIST(hh_linear, LIN_SLOTS);

/* only ever reserved in the ring, never named by a global: PYBPF_EVENT keeps it */
struct hh_event {
	__u64 value;
	__u32 slot;
	char tag[4];
};
PYBPF_EVENT(struct hh_event);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} hh_rb SEC(".maps");

SEC("syscall")
int hh_run(void *ctx)
{
	for (int i = 0; i < N; i++) {
		__u64 v = in[i];
		struct hh_event *e;

		out_log2[i] = log2((__u32)v);
		out_log2l[i] = log2l(v);
		out_bcc[i] = bpf_log2l(v);
		out_slot[i] = PYBPF_LOG2_SLOT(v);
		out_lin[i] = PYBPF_LINEAR_SLOT(v, LIN_STEP, LIN_SLOTS);
		pybpf_hist_add(&hh_log2, PYBPF_LOG2_SLOT(v), 1);
		pybpf_hist_add(&hh_linear, PYBPF_LINEAR_SLOT(v, LIN_STEP, LIN_SLOTS), 1);

		e = bpf_ringbuf_reserve(&hh_rb, sizeof(*e), 0);
		if (!e)
			continue;
		e->value = v;
		e->slot = out_slot[i];
		__builtin_memcpy(e->tag, "hh!", 4);
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}

/* `pybpf export runqlat`: run-queue latency (wakeup or preemption to running) as a
 * log2 histogram (ns), from sched_wakeup/sched_wakeup_new/sched_switch (tp_btf). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "export_common.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);	/* pid (thread id) */
	__type(value, __u64);	/* enqueue time, ns */
} enqueued SEC(".maps");

/* key: the log2 slot itself (the histogram has no other label) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOT + 1);
	__type(key, __u32);
	__type(value, __u64);
} runq_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} runq_latency_sum SEC(".maps");

static __always_inline void enqueue(__u32 pid)
{
	__u64 ts;

	if (!pid)
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&enqueued, &pid, &ts, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	enqueue(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
	enqueue(BPF_CORE_READ(p, pid));
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 pid, slot, zero = 0;
	__u64 *tsp, *count, *sum, delta;

	/* a task preempted while runnable goes straight back on the run queue */
	if (prev_state == TASK_RUNNING)
		enqueue(BPF_CORE_READ(prev, pid));
	pid = BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&enqueued, &pid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&enqueued, &pid);
	slot = log2_slot(delta);
	count = bpf_map_lookup_elem(&runq_latency, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	sum = bpf_map_lookup_elem(&runq_latency_sum, &zero);
	if (sum)
		__sync_fetch_and_add(sum, delta);
	return 0;
}

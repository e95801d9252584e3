// SPDX-License-Identifier: GPL-2.0
/* One of the many-objects benchmark's objects: compiled once per VARIANT into a
 * different CO-RE object (its own map name, constant and relocations), so a process
 * that loads all of them cannot share per-object work between them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024 + VARIANT);
	__type(key, __u32);
	__type(value, __u64);
} CAT(counts_, VARIANT) SEC(".maps");

const volatile __u32 variant = VARIANT;

SEC("tracepoint/sched/sched_process_exec")
int CAT(on_exec_, VARIANT)(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 key = BPF_CORE_READ(task, tgid) % (variant + 1);
	__u64 one = 1, *v;

	if (BPF_CORE_READ(task, real_parent, tgid) == variant)
		return 0;
	v = bpf_map_lookup_elem(&CAT(counts_, VARIANT), &key);
	if (v)
		__sync_fetch_and_add(v, BPF_CORE_READ(task, flags) & 1);
	else
		bpf_map_update_elem(&CAT(counts_, VARIANT), &key, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

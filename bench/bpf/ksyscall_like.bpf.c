// SPDX-License-Identifier: GPL-2.0
/* An object with the kconfig extern LINUX_HAS_SYSCALL_WRAPPER, as every tool built on
 * BPF_KSYSCALL has (libbpf's bpf_tracing.h reads it to pick the syscall's argument
 * layout). Kprobes are not assumed: the program is a tracepoint that counts
 * openat calls per process and records which layout a ksyscall program would use.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

__u32 wrapped = 0;

SEC("tracepoint/syscalls/sys_enter_openat")
int count_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 one = 1, *v;

	wrapped = LINUX_HAS_SYSCALL_WRAPPER ? 1 : 2;
	v = bpf_map_lookup_elem(&counts, &tgid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &tgid, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

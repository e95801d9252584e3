// SPDX-License-Identifier: GPL-2.0
/* opensnoop-like CO-RE object for the object-load benchmark: open/openat/openat2
 * enter and exit tracepoints, filename and flags kept per thread, emitted on exit
 * through a perf buffer; task fields are read through CO-RE relocations.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define NAME_MAX 255
#define TASK_COMM_LEN 16

struct args_t {
	const char *fname;
	__s32 flags;
	__u32 mode;
};

struct open_event {
	__u64 ts;
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__s32 ret;
	__s32 flags;
	__u32 mode;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

const volatile __u32 target_pid = 0;
const volatile bool failed_only = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct args_t);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_event);
} heap SEC(".maps");

static __always_inline int enter(const char *fname, __s32 flags, __u32 mode)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct args_t a = {.fname = fname, .flags = flags, .mode = mode};

	if (target_pid && target_pid != (id >> 32))
		return 0;
	bpf_map_update_elem(&start, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline int leave(void *ctx, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct args_t *a = bpf_map_lookup_elem(&start, &tid);
	struct open_event *e;

	if (!a)
		return 0;
	if (failed_only && ret >= 0)
		goto cleanup;
	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		goto cleanup;
	e->ts = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = BPF_CORE_READ(task, cred, uid.val);
	e->ret = ret;
	e->flags = a->flags;
	e->mode = a->mode;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(&e->fname, sizeof(e->fname), a->fname);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int open_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)BPF_CORE_READ(ctx, args[0]), (__s32)BPF_CORE_READ(ctx, args[1]),
		     (__u32)BPF_CORE_READ(ctx, args[2]));
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)BPF_CORE_READ(ctx, args[1]), (__s32)BPF_CORE_READ(ctx, args[2]),
		     (__u32)BPF_CORE_READ(ctx, args[3]));
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)BPF_CORE_READ(ctx, args[2]));
	return enter((const char *)BPF_CORE_READ(ctx, args[1]), (__s32)how.flags, (__u32)how.mode);
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx, BPF_CORE_READ(ctx, ret));
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx, BPF_CORE_READ(ctx, ret));
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx, BPF_CORE_READ(ctx, ret));
}

char LICENSE[] SEC("license") = "GPL";

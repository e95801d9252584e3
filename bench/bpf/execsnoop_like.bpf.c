// SPDX-License-Identifier: GPL-2.0
/* execsnoop-like CO-RE object for the object-load benchmark: execve enter/exit
 * tracepoints, argv captured into a hash map on entry, emitted on exit with the
 * parent's tgid and uid read through CO-RE relocations.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define ARGSIZE 128
#define MAXARGS 16
#define TASK_COMM_LEN 16

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__s32 retval;
	__u32 args_count;
	__u32 args_size;
	char comm[TASK_COMM_LEN];
	char args[MAXARGS * ARGSIZE];
};

const volatile bool ignore_failed = true;
const volatile __u32 target_uid = (__u32)-1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct exec_event);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} heap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int exec_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 zero = 0, pid = bpf_get_current_pid_tgid() >> 32;
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	const char **argv = (const char **)BPF_CORE_READ(ctx, args[1]);
	struct exec_event *e;

	if (target_uid != (__u32)-1 && uid != target_uid)
		return 0;
	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		return 0;
	e->pid = pid;
	e->uid = uid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->args_count = 0;
	e->args_size = 0;
	for (int i = 0; i < MAXARGS; i++) {
		const char *arg = NULL;
		long n;

		bpf_probe_read_user(&arg, sizeof(arg), &argv[i]);
		if (!arg)
			break;
		if (e->args_size > (MAXARGS - 1) * ARGSIZE)
			break;
		n = bpf_probe_read_user_str(&e->args[e->args_size], ARGSIZE, arg);
		if (n < 0)
			break;
		e->args_size += n;
		e->args_count++;
	}
	bpf_map_update_elem(&execs, &pid, e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exec_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *e = bpf_map_lookup_elem(&execs, &pid), *out;
	long ret = BPF_CORE_READ(ctx, ret);

	if (!e)
		return 0;
	if (ignore_failed && ret < 0)
		goto cleanup;
	out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out)
		goto cleanup;
	bpf_probe_read_kernel(out, sizeof(*out), e);
	out->retval = ret;
	out->uid = BPF_CORE_READ(task, cred, uid.val);
	bpf_get_current_comm(&out->comm, sizeof(out->comm));
	bpf_ringbuf_submit(out, 0);
cleanup:
	bpf_map_delete_elem(&execs, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

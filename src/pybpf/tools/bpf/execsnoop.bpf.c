/* libbpf-tools' execsnoop: every execve() with its arguments, parent and result. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <pybpf.h>
#include <bpf/bpf_core_read.h>
#include "execsnoop.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_uid = (__u32)-1; /* -1: every user */
const volatile bool ignore_failed = true;
const volatile __u32 max_args = MAX_ARGS;
const volatile bool filter_cg = false; /* -c: only tasks in cgroup_map[0] */

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct exec_event);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

static const struct exec_event empty_event = {};

struct exec_event *unused_exec_event __attribute__((unused));

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_enter(struct trace_event_raw_sys_enter *ctx)
{
	const char *const *argv = (const char *const *)ctx->args[1];
	struct task_struct *task;
	struct exec_event *e;
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	const char *arg;
	int i;

	if (filter_cg && !bpf_current_task_under_cgroup(&cgroup_map, 0))
		return 0;
	if (targ_uid != (__u32)-1 && targ_uid != uid)
		return 0;
	if (bpf_map_update_elem(&execs, &pid, &empty_event, BPF_NOEXIST))
		return 0;
	e = bpf_map_lookup_elem(&execs, &pid);
	if (!e)
		return 0;

	task = (struct task_struct *)bpf_get_current_task();
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pid;
	e->uid = uid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_probe_read_user_str(e->args[0], ARGSIZE, (const char *)ctx->args[0]);
	e->args_count = 1;
	for (i = 1; i < MAX_ARGS && i < max_args; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			return 0;
		bpf_probe_read_user_str(e->args[i], ARGSIZE, arg);
		e->args_count++;
	}
	/* more arguments than captured? */
	if (!bpf_probe_read_user(&arg, sizeof(arg), &argv[MAX_ARGS]) && arg)
		e->args_truncated = 1;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int handle_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct exec_event *e = bpf_map_lookup_elem(&execs, &pid);
	long ret = ctx->ret;

	if (!e)
		return 0;
	if (ignore_failed && ret < 0)
		goto cleanup;
	e->retval = ret;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	pybpf_ringbuf_output(events, e, sizeof(*e), 0);
cleanup:
	bpf_map_delete_elem(&execs, &pid);
	return 0;
}

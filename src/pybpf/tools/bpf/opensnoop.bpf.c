/* libbpf-tools' opensnoop: open() and openat() calls with their results. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <pybpf.h>
#include "opensnoop.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_pid = 0;
const volatile __u32 targ_tid = 0;
const volatile __u32 targ_uid = (__u32)-1; /* -1: every user */
const volatile bool targ_failed = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct open_args);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

struct open_event *unused_open_event __attribute__((unused));

static __always_inline bool trace_allowed(__u32 pid, __u32 tid)
{
	if (targ_pid && targ_pid != pid)
		return false;
	if (targ_tid && targ_tid != tid)
		return false;
	if (targ_uid != (__u32)-1 && targ_uid != (__u32)bpf_get_current_uid_gid())
		return false;
	return true;
}

static __always_inline int enter(__u64 fname, __u64 flags, __u64 mode)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct open_args args = {};

	if (!trace_allowed(pid, tid))
		return 0;
	args.fname = fname;
	args.flags = flags;
	args.mode = mode;
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[1], ctx->args[2], ctx->args[3]);
}

static __always_inline int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct open_args *ap = bpf_map_lookup_elem(&start, &tid);
	struct open_event *e;
	int ret = ctx->ret;

	if (!ap)
		return 0;
	if (targ_failed && ret >= 0)
		goto cleanup;
	e = pybpf_ringbuf_reserve(events, sizeof(*e));
	if (!e)
		goto cleanup;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = ap->flags;
	e->mode = ap->mode;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(&e->fname, sizeof(e->fname), (const char *)ap->fname);
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int exit_open_tp(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat_tp(struct trace_event_raw_sys_exit *ctx)
{
	return exit_open(ctx);
}

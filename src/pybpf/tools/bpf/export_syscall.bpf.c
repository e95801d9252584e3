/* `pybpf export syscall-latency`: syscall latency as log2 histograms (ns) by syscall. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "export_common.h"

char LICENSE[] SEC("license") = "GPL";

/* trace only this process (0: every process); set from the config's rodata */
const volatile __u32 targ_tgid = 0;

struct lat_key {
	__u32 syscall;
	__u32 slot;
};

struct sum_key {
	__u32 syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);	/* thread id */
	__type(value, __u64);	/* entry time, ns */
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lat_key);
	__type(value, __u64);
} syscall_latency SEC(".maps");

/* exact total latency (ns) per syscall: the histogram's _sum */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct sum_key);
	__type(value, __u64);
} syscall_latency_sum SEC(".maps");

static __always_inline bool traced(__u64 pid_tgid)
{
	return !targ_tgid || (pid_tgid >> 32) == targ_tgid;
}

SEC("tp/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	__u64 ts;

	if (!traced(pid_tgid))
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tp/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct lat_key key = {};
	struct sum_key skey = {};
	__u64 *tsp, delta;

	if (!traced(pid_tgid))
		return 0;
	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &tid);
	if (ctx->id < 0)
		return 0;
	key.syscall = (__u32)ctx->id;
	key.slot = log2_slot(delta);
	skey.syscall = key.syscall;
	add_u64(&syscall_latency, &key, 1);
	add_u64(&syscall_latency_sum, &skey, delta);
	return 0;
}

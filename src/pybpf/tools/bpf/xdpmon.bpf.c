/* samples/bpf xdp_monitor (seed 000): counters of the XDP redirect, exception, cpumap
 * and devmap tracepoints, in per-CPU arrays that user space sums every interval. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "xdpmon.h"

char LICENSE[] SEC("license") = "GPL";

/* [0] successful redirects, [1] failed ones */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct datarec);
} redirect_cnt SEC(".maps");

/* by XDP action (the last slot also counts unknown actions) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_ACTION_SLOTS);
	__type(key, __u32);
	__type(value, struct datarec);
} exception_cnt SEC(".maps");

/* by destination CPU */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__type(value, struct datarec);
} cpumap_enqueue_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct datarec);
} cpumap_kthread_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct datarec);
} devmap_xmit_cnt SEC(".maps");

static __always_inline int count_redirect(struct trace_event_raw_xdp_redirect_template *ctx)
{
	__u32 key = ctx->err ? 1 : 0;
	struct datarec *rec = bpf_map_lookup_elem(&redirect_cnt, &key);

	if (!rec)
		return 0;
	if (key)
		rec->dropped++;
	else
		rec->processed++;
	return 0;
}

SEC("tracepoint/xdp/xdp_redirect")
int trace_xdp_redirect(struct trace_event_raw_xdp_redirect_template *ctx)
{
	return count_redirect(ctx);
}

SEC("tracepoint/xdp/xdp_redirect_err")
int trace_xdp_redirect_err(struct trace_event_raw_xdp_redirect_template *ctx)
{
	return count_redirect(ctx);
}

SEC("tracepoint/xdp/xdp_redirect_map")
int trace_xdp_redirect_map(struct trace_event_raw_xdp_redirect_template *ctx)
{
	return count_redirect(ctx);
}

SEC("tracepoint/xdp/xdp_redirect_map_err")
int trace_xdp_redirect_map_err(struct trace_event_raw_xdp_redirect_template *ctx)
{
	return count_redirect(ctx);
}

SEC("tracepoint/xdp/xdp_exception")
int trace_xdp_exception(struct trace_event_raw_xdp_exception *ctx)
{
	__u32 key = ctx->act;
	struct datarec *rec;

	if (key >= XDP_ACTION_SLOTS)
		key = XDP_ACTION_SLOTS - 1;
	rec = bpf_map_lookup_elem(&exception_cnt, &key);
	if (rec)
		rec->dropped++;
	return 0;
}

SEC("tracepoint/xdp/xdp_cpumap_enqueue")
int trace_xdp_cpumap_enqueue(struct trace_event_raw_xdp_cpumap_enqueue *ctx)
{
	__u32 key = ctx->to_cpu;
	struct datarec *rec;

	if (key >= MAX_CPUS)
		return 0;
	rec = bpf_map_lookup_elem(&cpumap_enqueue_cnt, &key);
	if (!rec)
		return 0;
	rec->processed += ctx->processed;
	rec->dropped += ctx->drops;
	if (ctx->processed > 0)
		rec->info += 1; /* bulk enqueues */
	return 0;
}

SEC("tracepoint/xdp/xdp_cpumap_kthread")
int trace_xdp_cpumap_kthread(struct trace_event_raw_xdp_cpumap_kthread *ctx)
{
	__u32 key = 0;
	struct datarec *rec = bpf_map_lookup_elem(&cpumap_kthread_cnt, &key);

	if (!rec)
		return 0;
	rec->processed += ctx->processed;
	rec->dropped += ctx->drops;
	rec->xdp_pass += ctx->xdp_pass;
	rec->xdp_drop += ctx->xdp_drop;
	rec->xdp_redirect += ctx->xdp_redirect;
	if (ctx->sched)
		rec->info++; /* times the kthread was scheduled */
	return 0;
}

SEC("tracepoint/xdp/xdp_devmap_xmit")
int trace_xdp_devmap_xmit(struct trace_event_raw_xdp_devmap_xmit *ctx)
{
	__u32 key = 0;
	struct datarec *rec = bpf_map_lookup_elem(&devmap_xmit_cnt, &key);

	if (!rec)
		return 0;
	rec->processed += ctx->sent;
	rec->dropped += ctx->drops;
	rec->info += 1; /* bulk transmits */
	if (ctx->err < 0)
		rec->err++;
	return 0;
}

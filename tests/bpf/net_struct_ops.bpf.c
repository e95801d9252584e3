/* A tiny TCP congestion control in BPF (the mandatory ops plus init), counting
 * how often the kernel calls it, registered as "pybpf_nt_cc". */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* [0] init, [1] ssthresh, [2] cong_avoid, [3] undo_cwnd */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} cc_calls SEC(".maps");

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&cc_calls, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("struct_ops/nt_cc_init")
void BPF_PROG(nt_cc_init, struct sock *sk)
{
	bump(0);
}

SEC("struct_ops/nt_cc_ssthresh")
__u32 BPF_PROG(nt_cc_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 half = tp->snd_cwnd >> 1;

	bump(1);
	return half > 2 ? half : 2;
}

SEC("struct_ops/nt_cc_cong_avoid")
void BPF_PROG(nt_cc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	bump(2);
}

SEC("struct_ops/nt_cc_undo_cwnd")
__u32 BPF_PROG(nt_cc_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	bump(3);
	return tp->snd_cwnd;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops nt_cc = {
	.init = (void *)nt_cc_init,
	.ssthresh = (void *)nt_cc_ssthresh,
	.cong_avoid = (void *)nt_cc_cong_avoid,
	.undo_cwnd = (void *)nt_cc_undo_cwnd,
	.name = "pybpf_nt_cc",
};

/* The same ops registered without a link (map update / delete). */
SEC(".struct_ops")
struct tcp_congestion_ops nt_cc_plain = {
	.ssthresh = (void *)nt_cc_ssthresh,
	.cong_avoid = (void *)nt_cc_cong_avoid,
	.undo_cwnd = (void *)nt_cc_undo_cwnd,
	.name = "pybpf_nt_cc2",
};

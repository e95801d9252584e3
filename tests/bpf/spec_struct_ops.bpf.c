/* struct_ops maps for the object model: a tcp_congestion_ops in .struct_ops.link and
 * one in .struct_ops, whose function pointers name struct_ops programs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/spec_ssthresh")
__u32 BPF_PROG(spec_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops/spec_undo_cwnd")
__u32 BPF_PROG(spec_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC("struct_ops/spec_cong_avoid")
void BPF_PROG(spec_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC(".struct_ops.link")
struct tcp_congestion_ops spec_cc = {
	.ssthresh = (void *)spec_ssthresh,
	.cong_avoid = (void *)spec_cong_avoid,
	.undo_cwnd = (void *)spec_undo_cwnd,
	.name = "pybpf_spec_cc",
};

SEC(".struct_ops")
struct tcp_congestion_ops spec_cc_plain = {
	.ssthresh = (void *)spec_ssthresh,
	.undo_cwnd = (void *)spec_undo_cwnd,
	.name = "pybpf_spec_cc2",
};

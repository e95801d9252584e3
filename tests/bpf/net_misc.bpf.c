/* netfilter, flow dissector and lwt test programs, each counting its runs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define NF_ACCEPT 1

/* [0] netfilter, [1] flow dissector, [2] lwt xmit */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} misc_counts SEC(".maps");

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&misc_counts, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("netfilter")
int nt_nf_count(struct bpf_nf_ctx *ctx)
{
	bump(0);
	return NF_ACCEPT;
}

SEC("flow_dissector")
int nt_flow(struct __sk_buff *skb)
{
	bump(1);
	return BPF_DROP; /* "could not dissect": the kernel falls back to its own */
}

SEC("lwt_xmit")
int nt_lwt_xmit(struct __sk_buff *skb)
{
	bump(2);
	return BPF_OK;
}

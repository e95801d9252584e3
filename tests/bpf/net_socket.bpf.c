/* Socket-level test programs: a UDP socket filter keeping only datagrams whose
 * payload starts with 'A', and an SO_REUSEPORT selector picking the socket at
 * index config[0] of a reuseport array. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sock_config SEC(".maps");

/* [0] datagrams kept, [1] dropped, [2] reuseport selections */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} sock_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} reuse_socks SEC(".maps");

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&sock_counts, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* For UDP, the filter sees the datagram from its UDP header on. */
SEC("socket")
int nt_sock_filter(struct __sk_buff *skb)
{
	char first = 0;

	if (bpf_skb_load_bytes(skb, 8, &first, 1) == 0 && first == 'A') {
		bump(0);
		return skb->len;
	}
	bump(1);
	return 0;
}

SEC("sk_reuseport")
int nt_reuseport(struct sk_reuseport_md *ctx)
{
	__u32 zero = 0;
	__u32 *index = bpf_map_lookup_elem(&sock_config, &zero);
	__u32 key = index ? *index : 0;

	if (bpf_sk_select_reuseport(ctx, &reuse_socks, &key, 0))
		return SK_DROP;
	bump(2);
	return SK_PASS;
}

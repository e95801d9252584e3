/* sockmap test programs: sk_msg counting bytes sent by sockets in the map, an
 * sk_skb stream verdict counting bytes they receive, and sk_lookup steering
 * connections to port config[0] to the listener in lookup_socks[0]. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} msg_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} skb_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lookup_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sm_config SEC(".maps");

/* [0] bytes seen by sk_msg, [1] bytes seen by sk_skb, [2] connections steered */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} sm_counts SEC(".maps");

static __always_inline void add(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&sm_counts, &slot);

	if (v)
		__sync_fetch_and_add(v, n);
}

SEC("sk_msg")
int nt_msg_count(struct sk_msg_md *msg)
{
	add(0, msg->size);
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int nt_skb_verdict(struct __sk_buff *skb)
{
	add(1, skb->len);
	return SK_PASS;
}

SEC("sk_lookup")
int nt_sk_lookup(struct bpf_sk_lookup *ctx)
{
	__u32 zero = 0;
	__u32 *port = bpf_map_lookup_elem(&sm_config, &zero);
	struct bpf_sock *sk;
	long err;

	if (!port || !*port || ctx->local_port != *port)
		return SK_PASS;
	sk = bpf_map_lookup_elem(&lookup_socks, &zero);
	if (!sk)
		return SK_PASS;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (!err)
		add(2, 1);
	return SK_PASS;
}

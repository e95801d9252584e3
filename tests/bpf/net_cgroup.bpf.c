/* cgroup test programs: count UDP packets to config[0] in and out of a cgroup,
 * count (or, with config[1], refuse) socket creation, rewrite connect4 ports
 * from config[2] to config[3]. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} cg_config SEC(".maps");

/* [0] ingress packets, [1] egress packets, [2] sockets created, [3] connects rewritten */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} cg_counts SEC(".maps");

static __always_inline __u32 cg_cfg(__u32 i)
{
	__u32 *v = bpf_map_lookup_elem(&cg_config, &i);

	return v ? *v : 0;
}

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&cg_counts, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* cgroup_skb packets start at the IP header */
static __always_inline int udp_to_port(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;
	__u32 port = cg_cfg(0);

	if (!port || skb->protocol != bpf_htons(0x0800))
		return 0;
	if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != 17 || ip.ihl != 5)
		return 0;
	if (bpf_skb_load_bytes(skb, sizeof(ip), &udp, sizeof(udp)))
		return 0;
	return udp.dest == bpf_htons((__u16)port);
}

SEC("cgroup_skb/ingress")
int nt_cg_ingress(struct __sk_buff *skb)
{
	if (udp_to_port(skb))
		bump(0);
	return 1;
}

SEC("cgroup_skb/egress")
int nt_cg_egress(struct __sk_buff *skb)
{
	if (udp_to_port(skb))
		bump(1);
	return 1;
}

SEC("cgroup/sock_create")
int nt_cg_sock(struct bpf_sock *sk)
{
	bump(2);
	return cg_cfg(1) ? 0 : 1;
}

SEC("cgroup/connect4")
int nt_cg_connect4(struct bpf_sock_addr *ctx)
{
	__u32 from = cg_cfg(2), to = cg_cfg(3);

	if (from && ctx->user_port == bpf_htons((__u16)from)) {
		ctx->user_port = bpf_htons((__u16)to);
		bump(3);
	}
	return 1;
}

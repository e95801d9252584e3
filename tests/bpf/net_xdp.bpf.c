/* XDP test programs: count or drop UDP packets to the port in config[0], and a
 * MAC-swapping reflector for BPF_PROG_TEST_RUN. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "net_parse.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xdp_config SEC(".maps");

/* [0] packets counted by nt_xdp_count, [1] packets dropped by nt_xdp_drop */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} xdp_counts SEC(".maps");

static __always_inline int match(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *udp = net_udp(data, data_end);
	__u32 zero = 0;
	__u32 *port = bpf_map_lookup_elem(&xdp_config, &zero);

	return udp && port && *port && udp->dest == bpf_htons((__u16)*port);
}

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&xdp_counts, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int nt_xdp_count(struct xdp_md *ctx)
{
	if (match(ctx))
		bump(0);
	return XDP_PASS;
}

SEC("xdp")
int nt_xdp_drop(struct xdp_md *ctx)
{
	if (match(ctx)) {
		bump(1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

/* Swap the Ethernet addresses and bounce the frame (XDP_TX); short frames abort. */
SEC("xdp")
int nt_xdp_swap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[6];

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, tmp, 6);
	return XDP_TX;
}

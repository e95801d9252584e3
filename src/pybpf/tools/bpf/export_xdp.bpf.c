/* `pybpf export xdp-proto`: packets and bytes by IP protocol on one interface (XDP);
 * per-CPU counters, summed by the exporter. Every packet is passed on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_HLEN 14

struct proto_key {
	__u32 proto;	/* IP protocol (IPv4 protocol / IPv6 next header); 256: not IP */
};

struct proto_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 512);
	__type(key, struct proto_key);
	__type(value, struct proto_value);
} xdp_protocols SEC(".maps");

SEC("xdp")
int xdp_count_proto(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct proto_key key = { .proto = 256 };
	struct proto_value *val, init = {};
	__u64 len = data_end - data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) <= data_end)
			key.proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) <= data_end)
			key.proto = ip6->nexthdr;
	}
	val = bpf_map_lookup_elem(&xdp_protocols, &key);
	if (!val) {
		bpf_map_update_elem(&xdp_protocols, &key, &init, BPF_NOEXIST);
		val = bpf_map_lookup_elem(&xdp_protocols, &key);
		if (!val)
			return XDP_PASS;
	}
	/* per-CPU: no other CPU writes this slot */
	val->packets++;
	val->bytes += len;
	return XDP_PASS;
}

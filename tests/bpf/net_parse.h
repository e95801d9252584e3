/* Shared by the net_* test programs: find a UDP packet to a configured port. */
#pragma once
#include <bpf/bpf_endian.h>

#define NET_ETH_P_IP 0x0800
#define NET_IPPROTO_UDP 17

/* The UDP header of an IPv4/UDP frame in [data, data_end), or NULL. */
static __always_inline struct udphdr *net_udp(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(NET_ETH_P_IP))
		return 0;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != NET_IPPROTO_UDP || ip->ihl != 5)
		return 0;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return 0;
	return udp;
}

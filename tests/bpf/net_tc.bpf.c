/* tc test programs (tcx links and netlink cls_bpf): count or drop UDP packets to
 * the port in config[0]. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "net_parse.h"

char LICENSE[] SEC("license") = "GPL";

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tc_config SEC(".maps");

/* [0] nt_tcx_ingress, [1] nt_tcx_egress, [2] nt_tc_count, [3] nt_tc_drop, [4] nt_tcx_second */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} tc_counts SEC(".maps");

static __always_inline int match(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct udphdr *udp = net_udp(data, data_end);
	__u32 zero = 0;
	__u32 *port = bpf_map_lookup_elem(&tc_config, &zero);

	return udp && port && *port && udp->dest == bpf_htons((__u16)*port);
}

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&tc_counts, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tcx/ingress")
int nt_tcx_ingress(struct __sk_buff *skb)
{
	if (match(skb))
		bump(0);
	return TC_ACT_OK;
}

SEC("tcx/egress")
int nt_tcx_egress(struct __sk_buff *skb)
{
	if (match(skb))
		bump(1);
	return TC_ACT_OK;
}

SEC("tcx/ingress")
int nt_tcx_second(struct __sk_buff *skb)
{
	if (match(skb))
		bump(4);
	return TC_ACT_OK;
}

SEC("tc")
int nt_tc_count(struct __sk_buff *skb)
{
	if (match(skb))
		bump(2);
	return TC_ACT_OK;
}

SEC("tc")
int nt_tc_drop(struct __sk_buff *skb)
{
	if (match(skb)) {
		bump(3);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

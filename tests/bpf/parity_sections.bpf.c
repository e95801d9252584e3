/* Section names with a trailing slash or extras after an exact libbpf rule: cilium/ebpf
 * (and libbpf before 1.0) give them the rule's program type; libbpf 1.x opens them
 * without a type. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("sk_lookup/")
int lookup_slash(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

SEC("socket/filter_a")
int socket_extra(struct __sk_buff *skb)
{
	return skb->len; /* keep the whole packet */
}

SEC("syscall/named")
int syscall_extra(void *ctx)
{
	return 42;
}

SEC("xdp/extra")
int xdp_extra(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

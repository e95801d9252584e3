/* Kernel-matrix tests (tests/matrix/test_modkfunc.py): kfuncs that live in a module.
 * nf_conntrack's lookup kfuncs (5.18+) are in /sys/kernel/btf/nf_conntrack on Debian's
 * 6.1 and 6.12 (nf_conntrack=m) and in vmlinux where it is built in. An XDP program
 * looks up the packet's TCP/IPv4 4-tuple in conntrack and records the outcome. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define MX_ETH_P_IP 0x0800
#define MX_IPPROTO_TCP 6

/* the 12-byte opts layout every kernel since 5.18 accepts (6.7+ also take 16 bytes) */
struct mx_ct_opts {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 reserved[3];
};

/* ___mx flavors: vmlinux.h may declare these kfuncs (with the host's 16-byte opts) or
 * not (generated where nf_conntrack is a module); the loader drops the suffix */
struct nf_conn;
extern struct nf_conn *bpf_xdp_ct_lookup___mx(struct xdp_md *ctx, struct bpf_sock_tuple *tuple,
					      __u32 tuple__sz, struct mx_ct_opts *opts,
					      __u32 opts__sz) __ksym;
extern void bpf_ct_release___mx(struct nf_conn *ct) __ksym;

__s32 mx_ct_error = 1;   /* opts.error after the lookup (1: not reached) */
__s32 mx_ct_found = -1;  /* 1: an entry, 0: NULL */
__u16 mx_ct_dport;       /* the destination port parsed from the packet */

SEC("xdp")
int mx_ct_lookup(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	struct bpf_sock_tuple tuple = {};
	struct mx_ct_opts opts = {};
	struct nf_conn *ct;

	if ((void *)(tcp + 1) > end)
		return XDP_ABORTED;
	if (eth->h_proto != bpf_htons(MX_ETH_P_IP) || ip->protocol != MX_IPPROTO_TCP)
		return XDP_DROP;
	tuple.ipv4.saddr = ip->saddr;
	tuple.ipv4.daddr = ip->daddr;
	tuple.ipv4.sport = tcp->source;
	tuple.ipv4.dport = tcp->dest;
	mx_ct_dport = bpf_ntohs(tcp->dest);
	opts.netns_id = -1; /* BPF_F_CURRENT_NETNS */
	opts.l4proto = MX_IPPROTO_TCP;
	ct = bpf_xdp_ct_lookup___mx(ctx, &tuple, sizeof(tuple.ipv4), &opts, sizeof(opts));
	mx_ct_error = opts.error;
	/* one NULL test only: 6.1's verifier loses the reference on a second one */
	if (!ct) {
		mx_ct_found = 0;
		return XDP_PASS;
	}
	bpf_ct_release___mx(ct);
	mx_ct_found = 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

/* `pybpf export tcp-retrans`: TCP retransmits by destination address and port, from
 * the tcp:tcp_retransmit_skb tracepoint. IPv4 addresses are kept IPv4-mapped
 * (::ffff:a.b.c.d) so one 16-byte key field serves both families. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "export_common.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2

struct retrans_key {
	__u8 daddr[16];
	__u16 dport;
	__u16 family;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct retrans_key);
	__type(value, __u64);
} tcp_retransmits SEC(".maps");

SEC("tp/tcp/tcp_retransmit_skb")
int on_retransmit(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	struct retrans_key key = {};

	key.family = ctx->family;
	key.dport = ctx->dport;
	/* the address arrays are copied with a helper: the verifier refuses loads
	 * through a ctx pointer moved by an offset, which memcpy would produce */
	if (key.family == AF_INET) {
		key.daddr[10] = 0xff;
		key.daddr[11] = 0xff;
		bpf_probe_read_kernel(&key.daddr[12], 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(key.daddr, 16, ctx->daddr_v6);
	}
	add_u64(&tcp_retransmits, &key, 1);
	return 0;
}

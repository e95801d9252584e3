/* samples/bpf tracex1 (seed 003): packets received, with skb length and device name.
 * The tracepoint program runs everywhere; the kprobe one needs CONFIG_KPROBES. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <pybpf.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "netrx.h"

char LICENSE[] SEC("license") = "GPL";

/* only this device when set (NUL-padded name) */
const volatile char targ_dev[IFNAMSIZ] = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct rx_event *unused_rx_event __attribute__((unused));

static __always_inline int wanted(const char *name)
{
	int i;

	if (!targ_dev[0])
		return 1;
	for (i = 0; i < IFNAMSIZ; i++) {
		if (name[i] != targ_dev[i])
			return 0;
		if (!name[i])
			return 1;
	}
	return 1;
}

static __always_inline int emit(const char *name, __u64 skb, __u32 len)
{
	struct rx_event *e;

	if (!wanted(name))
		return 0;
	e = pybpf_ringbuf_reserve(events, sizeof(*e));
	if (!e)
		return 0;
	e->skbaddr = skb;
	e->len = len;
	e->cpu = bpf_get_smp_processor_id();
	__builtin_memcpy(e->devname, name, IFNAMSIZ);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/net/netif_receive_skb")
int netif_receive_skb_tp(struct trace_event_raw_net_dev_template *ctx)
{
	char name[IFNAMSIZ] = {};
	unsigned int off = ctx->__data_loc_name & 0xFFFF;

	bpf_probe_read_kernel_str(name, sizeof(name), (void *)ctx + off);
	return emit(name, (__u64)ctx->skbaddr, ctx->len);
}

SEC("kprobe/__netif_receive_skb")
int BPF_KPROBE(netif_receive_skb_kprobe, struct sk_buff *skb)
{
	char name[IFNAMSIZ] = {};
	struct net_device *dev = BPF_CORE_READ(skb, dev);

	BPF_CORE_READ_STR_INTO(&name, dev, name);
	return emit(name, (__u64)skb, BPF_CORE_READ(skb, len));
}

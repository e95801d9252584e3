/* XDP programs that make the xdp tracepoints fire, for the pybpf-xdpmon test. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int target_ifindex = 0;

SEC("xdp")
int xdp_abort(struct xdp_md *ctx)
{
	return XDP_ABORTED;
}

SEC("xdp")
int xdp_redirect_to(struct xdp_md *ctx)
{
	return bpf_redirect(target_ifindex, 0);
}

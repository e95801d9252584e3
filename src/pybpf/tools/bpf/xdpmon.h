/* Shared by xdpmon.bpf.c and described to Python through BTF. */
#ifndef __XDPMON_H
#define __XDPMON_H

#define XDP_ACTION_SLOTS 5 /* XDP_ABORTED .. XDP_REDIRECT */
#define MAX_CPUS 64

/* counters of one XDP tracepoint class (samples/bpf xdp_monitor) */
struct datarec {
	__u64 processed;
	__u64 dropped;
	__u64 info;
	__u64 err;
	__u64 xdp_pass;
	__u64 xdp_drop;
	__u64 xdp_redirect;
};

#endif

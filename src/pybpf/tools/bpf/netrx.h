/* Shared by netrx.bpf.c and described to Python through BTF. */
#ifndef __NETRX_H
#define __NETRX_H

#define IFNAMSIZ 16

/* one packet handed to the network stack (samples/bpf tracex1) */
struct rx_event {
	__u64 skbaddr;
	__u32 len;
	__u32 cpu;
	char devname[IFNAMSIZ];
};

#endif

/* Shared by hist.bpf.c and described to Python through BTF. */
#ifndef __HIST_H
#define __HIST_H

#define TASK_COMM_LEN 16
#define MAX_SLOTS 64

/* one log2 slot of one process's write() sizes (samples/bpf tracex2) */
struct hist_key {
	__u32 pid;
	__u32 uid;
	char comm[TASK_COMM_LEN];
	__u32 slot;
};

#endif

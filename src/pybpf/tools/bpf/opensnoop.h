/* Shared by opensnoop.bpf.c and described to Python through BTF. */
#ifndef __OPENSNOOP_H
#define __OPENSNOOP_H

#define TASK_COMM_LEN 16
#define NAME_MAX 255

/* what sys_enter_open(at) saw, kept by thread until the syscall returns */
struct open_args {
	__u64 fname;
	__s32 flags;
	__s32 mode;
};

/* one open()/openat() with its result */
struct open_event {
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;
	__s32 flags;
	__s32 mode;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

#endif

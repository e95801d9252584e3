/* Shared by execsnoop.bpf.c and described to Python through BTF. */
#ifndef __EXECSNOOP_H
#define __EXECSNOOP_H

#define TASK_COMM_LEN 16
#define MAX_ARGS 20
#define ARGSIZE 128

/* one execve(): the arguments captured at entry, the result at exit */
struct exec_event {
	__u64 ts_ns;
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__s32 retval;
	__u32 args_count;
	__u32 args_truncated;
	char comm[TASK_COMM_LEN];
	char args[MAX_ARGS][ARGSIZE];
};

#endif

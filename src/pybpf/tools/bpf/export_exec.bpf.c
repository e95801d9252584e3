/* `pybpf export exec-count`: execs counted by command name (comm). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "export_common.h"

char LICENSE[] SEC("license") = "GPL";

/* count only this user's execs ((u32)-1: everyone); set from the config's rodata */
const volatile __u32 targ_uid = (__u32)-1;

struct exec_key {
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct exec_key);
	__type(value, __u64);
} exec_count SEC(".maps");

SEC("tp/sched/sched_process_exec")
int count_exec(void *ctx)
{
	struct exec_key key = {};
	__u32 uid = (__u32)bpf_get_current_uid_gid();

	if (targ_uid != (__u32)-1 && uid != targ_uid)
		return 0;
	/* after exec, comm is the new program's name */
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	add_u64(&exec_count, &key, 1);
	return 0;
}

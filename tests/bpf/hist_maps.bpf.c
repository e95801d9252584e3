/* Maps shaped like BCC/libbpf-tools histograms, for Map.print_log2_hist and friends:
 * slot-keyed hash and array maps, and two sectioned maps ({bucket, slot} keys). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <pybpf.h>

char LICENSE[] SEC("license") = "GPL";

struct pid_key {
	__u32 pid;
	__u32 slot;
};

struct comm_key {
	char comm[16];
	__u64 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1025);
	__type(key, __u32);
	__type(value, __u64);
} hm_hash SEC(".maps");

PYBPF_HIST(hm_array, PYBPF_LOG2_SLOTS);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PYBPF_LOG2_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hm_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct pid_key);
	__type(value, __u64);
} hm_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct comm_key);
	__type(value, __u64);
} hm_comm SEC(".maps");

/* one program so the object loads like any other */
SEC("syscall")
int hm_noop(void *ctx)
{
	return 0;
}

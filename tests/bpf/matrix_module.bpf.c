/* Kernel-matrix tests (tests/matrix): a kprobe on a module function (9pnet, the guests'
 * root filesystem) whose types exist only in the module's split BTF, read with CO-RE. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* local views of 9pnet's types: CO-RE relocates them against /sys/kernel/btf/9pnet */
struct p9_client {
	unsigned int msize;
} __attribute__((preserve_access_index));

struct p9_fid {
	struct p9_client *clnt;
} __attribute__((preserve_access_index));

__s64 mx_pid = -1;
__u64 hits;
__u64 msize;

SEC("kprobe/p9_client_getattr_dotl")
int BPF_KPROBE(mx_p9_getattr, struct p9_fid *fid)
{
	if ((__s64)(bpf_get_current_pid_tgid() >> 32) != mx_pid)
		return 0;
	msize = BPF_CORE_READ(fid, clnt, msize);
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

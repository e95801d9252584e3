/* Programs the verifier rejects, at known source lines. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);	/* hash: lookups may return NULL */
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} values SEC(".maps");

SEC("tp/syscalls/sys_enter_getpid")
int null_deref(void *ctx)
{
	u32 key = 0;
	u64 *value = bpf_map_lookup_elem(&values, &key);

	return *value; /* MISSING NULL CHECK */
}

/* A long walk before the failure, so that the verifier log outgrows a small buffer. */
SEC("tp/syscalls/sys_enter_getpid")
int long_log(void *ctx)
{
	u64 acc = bpf_get_prandom_u32();
	u32 key;
	u64 *value;

#pragma clang loop unroll(full)
	for (int i = 0; i < 400; i++) {
		acc = acc * 31 + i;
		asm volatile("" : "+r"(acc));	/* no folding: 400 real steps */
	}
	key = (u32)acc;	/* the lookup depends on the loop: it cannot be hoisted */
	value = bpf_map_lookup_elem(&values, &key);
	return *value; /* LONG LOG FAILURE */
}

char LICENSE[] SEC("license") = "GPL";

/* Static linker test, bad input: map 'shared' declared with 8 entries, link_lib defines 4. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} shared SEC(".maps");

SEC("syscall")
int badmap_prog(void *ctx)
{
	u32 k = 0;
	u64 *v = bpf_map_lookup_elem(&shared, &k);

	return v ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";

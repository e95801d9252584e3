/* BTF map attributes given with __ulong (current libbpf's bpf_helpers.h): a one-value
 * enum, ENUM64 when the value needs 64 bits. map_extra is the bloom filter's hash count
 * (low 4 bits) and the arena's user address (1 << 44 needs an ENUM64). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef __ulong /* libbpf >= 1.4 defines it */
#define ___pybpf_cat(a, b) a##b
#define __pybpf_cat(a, b) ___pybpf_cat(a, b)
#define __ulong(name, val) enum { __pybpf_cat(__unique_value, __COUNTER__) = val } name
#endif

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, u32);
	__ulong(map_extra, 5); /* 5 hash functions */
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2); /* pages */
	__ulong(map_extra, 1ull << 44); /* where user space maps it */
} arena SEC(".maps");

u32 found = 7;

SEC("socket")
int probe_bloom(struct __sk_buff *skb)
{
	u32 v = 42;

	bpf_map_push_elem(&bloom, &v, 0);
	found = bpf_map_peek_elem(&bloom, &v) == 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

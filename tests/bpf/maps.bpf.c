/* One BTF-defined map of every type this kernel supports (struct_ops lives with the
 * attach tests), plus map-in-map with an initial .values and a pinned map. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define SIMPLE(name, kind, k, v, n)      \
	struct {                         \
		__uint(type, kind);      \
		__uint(max_entries, n);  \
		__type(key, k);          \
		__type(value, v);        \
	} name SEC(".maps")

SIMPLE(m_hash, BPF_MAP_TYPE_HASH, u32, u64, 16);
SIMPLE(m_array, BPF_MAP_TYPE_ARRAY, u32, u64, 16);
SIMPLE(m_percpu_hash, BPF_MAP_TYPE_PERCPU_HASH, u32, u64, 16);
SIMPLE(m_percpu_array, BPF_MAP_TYPE_PERCPU_ARRAY, u32, u64, 4);
SIMPLE(m_lru_hash, BPF_MAP_TYPE_LRU_HASH, u32, u64, 16);
SIMPLE(m_lru_percpu_hash, BPF_MAP_TYPE_LRU_PERCPU_HASH, u32, u64, 16);
SIMPLE(m_cgroup_array, BPF_MAP_TYPE_CGROUP_ARRAY, u32, u32, 4);
SIMPLE(m_devmap, BPF_MAP_TYPE_DEVMAP, u32, struct bpf_devmap_val, 4);
SIMPLE(m_devmap_hash, BPF_MAP_TYPE_DEVMAP_HASH, u32, u32, 4);
SIMPLE(m_sockmap, BPF_MAP_TYPE_SOCKMAP, u32, u64, 4);
SIMPLE(m_sockhash, BPF_MAP_TYPE_SOCKHASH, u32, u64, 4);
SIMPLE(m_cpumap, BPF_MAP_TYPE_CPUMAP, u32, struct bpf_cpumap_val, 2);
SIMPLE(m_xskmap, BPF_MAP_TYPE_XSKMAP, u32, u32, 4);
SIMPLE(m_reuseport, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, u32, u64, 4);

struct lpm_key {
	u32 prefixlen;
	u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, u32);
} m_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16);
	__uint(key_size, sizeof(u32));
	__uint(value_size, 127 * sizeof(u64));
} m_stack_trace SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, u32);
} m_queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 8);
	__type(value, u32);
} m_stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__uint(map_extra, 3);	/* number of hash functions */
	__type(value, u32);
} m_bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} m_ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} m_user_ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(u32));
} m_perf SEC(".maps");	/* max_entries 0: one slot per possible CPU */

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} m_sk_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} m_inode_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} m_task_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} m_cgrp_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2);	/* pages */
} m_arena SEC(".maps");

/* Map-in-map: two inner arrays, the outer one initialised with both. */
struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner_map);
} m_array_of_maps SEC(".maps") = {
	.values = { &inner_a, [3] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner_map);
} m_hash_of_maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, u32);
	__type(value, u32);
} m_pinned SEC(".maps");

/* Reads through the outer map so that the inner-map template is exercised. */
SEC("syscall")
int read_inner(void *ctx)
{
	u32 outer_key = 3, key = 0;
	void *inner = bpf_map_lookup_elem(&m_array_of_maps, &outer_key);
	u64 *v;

	if (!inner)
		return -1;
	v = bpf_map_lookup_elem(inner, &key);
	return v ? (int)*v : -2;
}

char LICENSE[] SEC("license") = "GPL";

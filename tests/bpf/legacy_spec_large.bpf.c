/* Legacy "maps" with a struct larger than samples/bpf's bpf_map_def: accepted while the
 * unknown trailing fields are zero (the tests flip one to check the error). */
#include <linux/bpf.h>
#define SEC(NAME) __attribute__((section(NAME), used))

struct large_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
	unsigned int inner_map_idx;
	unsigned int numa_node;
	unsigned int future_a;
	unsigned int future_b;
	unsigned int future_c; /* 40 bytes: 36 would be iproute2's struct bpf_elf_map */
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;

struct large_map_def SEC("maps") large_inner = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 4,
	.max_entries = 1,
};

struct large_map_def SEC("maps") large_outer = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS,
	.key_size = 4,
	.value_size = 4,
	.max_entries = 3,
	.inner_map_idx = 0,
};

SEC("xdp_large")
int read_large(struct xdp_md *ctx)
{
	int key = 0;

	return bpf_map_lookup_elem(&large_outer, &key) ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";

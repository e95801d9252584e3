/* Legacy "maps" with a struct smaller than samples/bpf's bpf_map_def (libbpf's old
 * five-field struct): the loader zero-extends it. */
#include <linux/bpf.h>
#define SEC(NAME) __attribute__((section(NAME), used))

struct small_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;

struct small_map_def SEC("maps") small_a = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 8,
	.max_entries = 2,
};

struct small_map_def SEC("maps") small_b = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = 8,
	.value_size = 16,
	.max_entries = 32,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket_small")
int read_small(struct __sk_buff *skb)
{
	int key = 0;
	long long key8 = 0;

	return bpf_map_lookup_elem(&small_a, &key) != 0 && bpf_map_lookup_elem(&small_b, &key8) != 0;
}

char _license[] SEC("license") = "GPL";

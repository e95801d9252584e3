/* A static (file-local) legacy map definition: loaders find legacy maps by their global
 * symbols, so this one must be refused with a clear error. Objects in tests/bpf/invalid/
 * cannot be opened by design: the tests that need them compile them (not the Makefile). */
#include <linux/bpf.h>
#define SEC(NAME) __attribute__((section(NAME), used))

struct bpf_map_def_small {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;

static struct bpf_map_def_small SEC("maps") hidden = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 4,
	.max_entries = 1,
};

SEC("socket")
int use_hidden(struct __sk_buff *skb)
{
	int key = 0;

	return bpf_map_lookup_elem(&hidden, &key) != 0;
}

char _license[] SEC("license") = "GPL";

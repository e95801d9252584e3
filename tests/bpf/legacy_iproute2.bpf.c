/* iproute2's legacy map definitions (struct bpf_elf_map, 36 bytes, in "maps"), built
 * like tc objects before BTF: pinned in the global namespace (tc/globals), pinned per
 * object (tc/<sha1 of the object>), and a map-in-map whose inner maps are found by id
 * (inner_id) and placed at their inner_idx. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#define SEC(NAME) __attribute__((section(NAME), used))

struct bpf_elf_map {
	unsigned int type;
	unsigned int size_key;
	unsigned int size_value;
	unsigned int max_elem;
	unsigned int flags;
	unsigned int id;
	unsigned int pinning;
	unsigned int inner_id;
	unsigned int inner_idx;
};

#define PIN_OBJECT_NS 1
#define PIN_GLOBAL_NS 2

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;

struct bpf_elf_map SEC("maps") pybpf_parity_glob = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = 4,
	.size_value = 8,
	.max_elem = 1,
	.pinning = PIN_GLOBAL_NS,
};

struct bpf_elf_map SEC("maps") objns = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = 4,
	.size_value = 4,
	.max_elem = 1,
	.pinning = PIN_OBJECT_NS,
};

struct bpf_elf_map SEC("maps") inner_a = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = 4,
	.size_value = 4,
	.max_elem = 1,
	.id = 7,
	.inner_idx = 0,
};

struct bpf_elf_map SEC("maps") inner_b = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = 4,
	.size_value = 4,
	.max_elem = 1,
	.id = 7,
	.inner_idx = 2,
};

struct bpf_elf_map SEC("maps") outer = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS,
	.size_key = 4,
	.size_value = 4,
	.max_elem = 4,
	.inner_id = 7,
};

SEC("classifier")
int read_slots(struct __sk_buff *skb)
{
	int key = 0, slot;
	unsigned long long *glob = bpf_map_lookup_elem(&pybpf_parity_glob, &key);
	int ret = 0;

	/* bit 0: slot 0 holds a map, bit 1: slot 1 is empty, bit 2: slot 2 holds one */
	slot = 0;
	if (bpf_map_lookup_elem(&outer, &slot))
		ret |= 1;
	slot = 1;
	if (!bpf_map_lookup_elem(&outer, &slot))
		ret |= 2;
	slot = 2;
	if (bpf_map_lookup_elem(&outer, &slot))
		ret |= 4;
	if (glob)
		*glob += 1;
	if (bpf_map_lookup_elem(&objns, &key))
		ret |= 8;
	return ret;
}

char _license[] SEC("license") = "GPL";

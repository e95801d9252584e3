/* Tail calls through a prog array filled from the map's .values initialiser. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

u32 slot;	/* .bss: chosen from Python through the mmap'ed .bss */

SEC("tc")
int tail_one(struct __sk_buff *skb)
{
	return 11;
}

SEC("tc")
int tail_two(struct __sk_buff *skb)
{
	return 22;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(u32));
	__array(values, int(struct __sk_buff *));
} jmp_table SEC(".maps") = {
	.values = {
		[1] = (void *)&tail_one,
		[2] = (void *)&tail_two,
	},
};

SEC("tc")
int entry(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, slot);
	return 99;	/* empty slot: the tail call fell through */
}

char LICENSE[] SEC("license") = "GPL";

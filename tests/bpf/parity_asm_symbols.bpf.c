/* Symbols referenced only from inline assembly (`r = SYM ll`): no BTF VAR or FUNC
 * describes them, so they are neither externs nor globals. The loader keeps each one on
 * its instruction for the user to patch before load (cilium's ProgramSpec model). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("socket")
int asm_const(struct __sk_buff *skb)
{
	u64 magic, twice;

	asm volatile("%0 = PYBPF_MAGIC ll" : "=r"(magic));
	asm volatile("%0 = PYBPF_MAGIC ll" : "=r"(twice));
	return (magic + twice) & 0xffff;
}

SEC("socket")
int asm_other(struct __sk_buff *skb)
{
	u64 v;

	asm volatile("%0 = PYBPF_OTHER ll" : "=r"(v));
	return v & 0xff;
}

SEC("socket")
int plain_pass(struct __sk_buff *skb)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

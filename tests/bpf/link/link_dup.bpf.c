/* Static linker test, bad input: a second strong definition of link_lib's lib_mul. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

int lib_mul(int a, int b) { return a - b; }

SEC("syscall")
int dup_prog(void *ctx) { return lib_mul(3, 2); }

char LICENSE[] SEC("license") = "GPL";

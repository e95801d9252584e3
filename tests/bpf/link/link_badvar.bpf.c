/* Static linker test, bad input: lib_data declared as a u32, link_lib defines a u64. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern u32 lib_data;

SEC("syscall")
int badvar_prog(void *ctx) { return lib_data; }

char LICENSE[] SEC("license") = "GPL";

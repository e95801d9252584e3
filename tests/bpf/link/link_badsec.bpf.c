/* Static linker test, bad input: lib_data declared in .bss, link_lib defines it in .data. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern volatile u64 lib_data SEC(".bss");

SEC("syscall")
int badsec_prog(void *ctx) { return lib_data; }

char LICENSE[] SEC("license") = "GPL";

/* Static linker test, bad input: lib_mul declared with one parameter, link_lib defines two. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int lib_mul(int a);

SEC("syscall")
int badfunc_prog(void *ctx) { return lib_mul(3); }

char LICENSE[] SEC("license") = "GPL";

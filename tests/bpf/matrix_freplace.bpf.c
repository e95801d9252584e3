/* Kernel-matrix tests (tests/matrix): freplace of matrix_freplace_target's mx_handler. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("freplace/mx_handler")
int mx_replacement(int x)
{
	return x * 10;
}

char LICENSE[] SEC("license") = "GPL";

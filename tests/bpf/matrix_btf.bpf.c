/* Kernel-matrix tests (tests/matrix): BTF that kernels before 6.0 reject unless
 * sanitized: a signed enum (kind_flag set, which came with ENUM64 in 6.0). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum mx_signed { MX_NEG = -2, MX_ZERO = 0, MX_POS = 3 };

enum mx_signed mx_state = MX_NEG;
__s64 mx_seen;

SEC("xdp")
int mx_btf_prog(struct xdp_md *ctx)
{
	mx_seen = mx_state;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

/* Programs the verifier rejects with a reason printed over several lines.
 * exit_first: the first instruction is `exit` with r0 unset ("0: (95) exit").
 * ctx_past_args: a tp_btf program reads a 12th argument sched_switch does not have:
 * the kernel prints "func 'sched_switch' doesn't have 12-th argument" above
 * "invalid bpf_context access".
 * fwd_arg: an LSM program reads the first argument of key_permission, a pointer to a
 * type vmlinux BTF only forward-declares: "func 'bpf_lsm_key_permission' arg0 type FWD
 * is not a struct" (LSM programs need trampolines; without them the load fails first). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("socket")
__attribute__((naked)) int exit_first(void *ctx)
{
	asm volatile("exit");
}

SEC("tp_btf/sched_switch")
int ctx_past_args(u64 *ctx)
{
	return ctx[11] != 0; /* PAST THE ARGUMENTS */
}

SEC("lsm/key_permission")
int fwd_arg(u64 *ctx)
{
	return ctx[0] != 0; /* FWD ARGUMENT */
}

char LICENSE[] SEC("license") = "GPL";

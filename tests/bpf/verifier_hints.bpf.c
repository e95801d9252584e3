/* One program per verifier rejection that VerifierError.hint explains.
 * Each program is loaded on its own (the others have autoload off) and must be
 * rejected with the reason named in its comment; tests/loader/test_verifier_hints.py
 * checks the hint. Every marked line is the one the hint should point at. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} vh_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} vh_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} vh_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 4);
	__type(value, u64);
} vh_bloom SEC(".maps");

volatile u32 vh_index;
volatile u64 vh_limit;

/* null-map-value: dereference of bpf_map_lookup_elem()'s result without a check */
SEC("tp/syscalls/sys_enter_getpid")
int vh_null_map_value(void *ctx)
{
	u32 key = 0;
	u64 *v = bpf_map_lookup_elem(&vh_hash, &key);

	return *v; /* HINT null-map-value */
}

/* infinite-loop: a loop whose exit the verifier can prove is never taken */
SEC("tp/syscalls/sys_enter_getpid")
int vh_infinite_loop(void *ctx)
{
	volatile int spin = 1;

	while (spin) /* HINT infinite-loop */
		;
	return 0;
}

/* too-complex: more undecided branches in a row than the verifier will queue
 * (8192); a loop bounded only by an unknown value fails the same way, slower */
#define VH_BRANCH                                                               \
	{                                                                       \
		u64 r = bpf_get_prandom_u32();                                  \
		asm volatile("if %[r] > 7 goto +1; %[a] += 1;" : [a] "+r"(acc) : [r] "r"(r)); \
	}
#define VH_10(x) x x x x x x x x x x
SEC("tp/syscalls/sys_enter_getpid")
int vh_too_complex(void *ctx)
{
	u64 acc = 0;

	VH_10(VH_10(VH_10(VH_10(VH_BRANCH)))) /* HINT too-complex */
	return acc;
}

/* stack-bounds: writing past a stack array through a variable index */
SEC("tp/syscalls/sys_enter_getpid")
int vh_stack_bounds(void *ctx)
{
	u64 buf[4] = {};
	u32 i = vh_index;

	if (i > 8)
		return 0;
	buf[i] = 1; /* HINT stack-bounds */
	return buf[0];
}

/* map-value-bounds: indexing past the end of a map value */
SEC("tp/syscalls/sys_enter_getpid")
int vh_map_value_bounds(void *ctx)
{
	u32 key = 0, i = vh_index;
	u64 *v = bpf_map_lookup_elem(&vh_array, &key);

	if (!v || i > 3)
		return 0;
	return v[i]; /* HINT map-value-bounds */
}

/* packet-bounds: reading packet bytes without comparing against data_end */
SEC("xdp")
int vh_packet_bounds(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	return eth->h_proto == 8 ? XDP_PASS : XDP_DROP; /* HINT packet-bounds */
}

/* ctx-access: reading past the end of the program's context */
SEC("tp/syscalls/sys_enter_getpid")
int vh_ctx_access(struct trace_event_raw_sys_enter *ctx)
{
	return ((long *)ctx)[2000]; /* HINT ctx-access */
}

/* unreleased-reference: a ring buffer reservation that is neither submitted nor discarded */
SEC("tp/syscalls/sys_enter_getpid")
int vh_unreleased_reference(void *ctx)
{
	u64 *e = bpf_ringbuf_reserve(&vh_rb, sizeof(*e), 0);

	if (!e)
		return 0;
	*e = 1;
	return 0;
} /* HINT unreleased-reference */

/* helper-not-allowed: a networking helper in a tracing program */
SEC("tp/syscalls/sys_enter_getpid")
int vh_helper_not_allowed(void *ctx)
{
	char buf[4];

	return bpf_skb_load_bytes(ctx, 0, buf, sizeof(buf)); /* HINT helper-not-allowed */
}

/* r0-not-set: returning without setting the return value */
SEC("tp/syscalls/sys_enter_getpid")
__attribute__((naked)) int vh_r0_not_set(void *ctx)
{
	asm volatile("exit"); /* HINT r0-not-set */
}

/* misaligned-access: a 4-byte packet load at an address that is not 4-byte aligned
 * (rejected when loaded with BPF_F_STRICT_ALIGNMENT, as on strict architectures) */
SEC("xdp")
int vh_misaligned(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (data + 16 > end)
		return XDP_PASS;
	return *(u32 *)(data + 12) ? XDP_PASS : XDP_DROP; /* HINT misaligned-access */
}

/* null-to-helper: passing a possibly-NULL map value to a helper */
SEC("tp/syscalls/sys_enter_getpid")
int vh_null_to_helper(void *ctx)
{
	u32 key = 0;
	u64 *v = bpf_map_lookup_elem(&vh_hash, &key);

	return bpf_map_update_elem(&vh_hash, &key, v, BPF_ANY); /* HINT null-to-helper */
}

/* scalar-deref: dereferencing a kernel address held as an integer */
SEC("tp/syscalls/sys_enter_getpid")
int vh_scalar_deref(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	return task->pid; /* HINT scalar-deref */
}

/* sleepable-map: a sleepable program using a map type sleepable programs cannot use */
SEC("syscall")
int vh_sleepable_map(void *ctx)
{
	u64 v = 1;

	return bpf_map_push_elem(&vh_bloom, &v, 0); /* HINT sleepable-map */
}

/* might-sleep: a helper that may sleep, called from a non-sleepable program */
SEC("tp/syscalls/sys_enter_getpid")
int vh_might_sleep(void *ctx)
{
	char buf[8];

	return bpf_copy_from_user(buf, sizeof(buf), (void *)0x1000); /* HINT might-sleep */
}

/* modified-ctx: passing a moved ctx pointer where the ctx itself is needed */
SEC("tp/syscalls/sys_enter_getpid")
int vh_modified_ctx(struct trace_event_raw_sys_enter *ctx)
{
	long *p = (long *)ctx + (vh_index & 1);

	return bpf_get_stackid(p, &vh_hash, 0); /* HINT modified-ctx */
}

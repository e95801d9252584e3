/* Static linker test, object 2 of 2 (with link_main.bpf.c): the functions, maps and
 * variables link_main uses, a hidden helper, overrides of its weak symbols, its own
 * statics of the same names and a CO-RE relocation. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern u32 LINUX_KERNEL_VERSION __kconfig;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u32);
} lib_map SEC(".maps");

volatile u64 lib_data = 42;
const volatile u32 lib_ro = 5;
u64 lib_bss;
volatile int weak_var SEC(".data") = 7;
static volatile u64 counter;
u64 lib_out;
char lib_msg[16];

__hidden __noinline int lib_add(int a, int b) { return a + b; }

int lib_mul(int a, int b) { return lib_add(a * b, 0); }

int weak_bias(void) { return 10; }
__weak int weak_only(void) { return 200; }

static __noinline int helper(int x) { return x + 2000; }

SEC("syscall")
int lib_prog(void *ctx)
{
	u32 k = 1;
	u64 *v = bpf_map_lookup_elem(&shared, &k), args[1];

	counter += 2;
	if (v)
		*v += 1;
	lib_out = helper(lib_data) + lib_data + counter + weak_only()
		+ bpf_core_field_offset(struct task_struct, pid) + (LINUX_KERNEL_VERSION ? 1 : 0);
	args[0] = helper(k);
	bpf_snprintf(lib_msg, sizeof(lib_msg), "lib=%d", args, sizeof(args));	/* .rodata.str1.1 */
	return args[0];
}

char LICENSE[] SEC("license") = "GPL";

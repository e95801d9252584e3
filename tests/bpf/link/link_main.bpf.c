/* Static linker test, object 1 of 2 (with link_lib.bpf.c): a program that calls
 * functions and uses a map and variables defined in the other object, weak
 * definitions the other object overrides, and statics whose names clash with it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern int lib_mul(int a, int b);		/* strong definition in link_lib */
extern volatile u64 lib_data;			/* .data of link_lib ('.extern' here) */
extern u64 lib_bss SEC(".bss");			/* declared in .bss, defined in link_lib's .bss */
extern const volatile u32 lib_ro;		/* .rodata of link_lib */
extern int lib_add(int a, int b);		/* hidden in link_lib: stays hidden */
extern u32 LINUX_KERNEL_VERSION __kconfig;	/* also declared by link_lib */

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} shared SEC(".maps");				/* defined in link_lib */

extern struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u32);
} lib_map SEC(".maps");				/* defined in link_lib */

__weak int weak_bias(void) { return 1; }	/* link_lib's strong one wins */
__weak int weak_only(void) { return 100; }	/* weak in both: the first object's wins */
__weak volatile int weak_var SEC(".data") = 5;	/* link_lib's strong one (7) wins */

static __noinline int helper(int x) { return x + 1000; }	/* link_lib has its own */
static volatile u64 counter;				/* link_lib has its own */

static int loop_cb(u32 i, u64 *sum)			/* a callback: ld_imm64 of .text + offset */
{
	*sum += i;
	return 0;
}
const volatile int main_cfg = 3;
u64 main_out;
char main_msg[16];

SEC("syscall")
int main_prog(void *ctx)
{
	u32 k = 0, one = 1;
	u64 *v, args[1];
	int r;

	counter += 1;
	r = lib_mul(main_cfg, 4) + weak_bias() + weak_only() + helper(main_cfg) + weak_var
	    + lib_add(lib_ro, 0);
	v = bpf_map_lookup_elem(&shared, &k);
	if (v)
		*v += r;
	bpf_map_update_elem(&lib_map, &k, &one, BPF_ANY);
	lib_bss += 1;
	args[0] = 0;
	bpf_loop(4, loop_cb, &args[0], 0);			/* 0 + 1 + 2 + 3 */
	main_out = r + lib_data + counter + (LINUX_KERNEL_VERSION ? 1 : 0) + args[0];
	args[0] = r;
	bpf_snprintf(main_msg, sizeof(main_msg), "main=%d", args, sizeof(args));	/* .rodata.str1.1 */
	return r;
}

char LICENSE[] SEC("license") = "GPL";

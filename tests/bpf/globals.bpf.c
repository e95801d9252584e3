/* libbpf-style object: BTF-defined maps, global data in .data/.rodata/.bss and custom
 * sections, static and global subprograms, bpf_loop and for_each_map_elem callbacks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

struct event {
	u32 pid;
	u32 seq;
	u64 value;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

/* Puts struct event into BTF so user space can decode ring buffer records by name. */
struct event *unused_event_anchor __attribute__((unused));

const volatile u64 multiplier = 1;	/* .rodata: set from Python before load */
const volatile u32 target_pid = 0;
volatile u64 data_counter = 7;		/* .data */
u64 bss_counter;			/* .bss */
u64 loop_sum;
u64 map_total;
u32 seq;
char greeting[16] SEC(".data.custom") = "hello";
const volatile u32 rodata_cfg SEC(".rodata.cfg") = 3;

static __noinline u64 scale(u64 x)
{
	return x * multiplier + rodata_cfg;
}

__noinline int global_add_one(int x)
{
	return x + 1;
}

static int loop_cb(u32 idx, void *ctx)
{
	loop_sum += idx;
	return 0;
}

static long sum_cb(struct bpf_map *map, u32 *key, u64 *val, u64 *total)
{
	*total += *val;
	return 0;
}

/* Run with BPF_PROG_TEST_RUN: returns scale(5) + 1 and updates the globals. */
SEC("syscall")
int compute(void *ctx)
{
	u64 total = 0;

	bss_counter++;
	data_counter += scale(2);
	bpf_loop(10, loop_cb, NULL, 0);
	bpf_for_each_map_elem(&counts, sum_cb, &total, 0);
	map_total = total;
	return global_add_one((int)scale(5));
}

SEC("tp/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct event *e;
	u64 one = 1, *v;

	if (target_pid && pid != target_pid)
		return 0;
	v = bpf_map_lookup_elem(&counts, &pid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST);
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->seq = seq++;
	e->value = scale(e->seq);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* For `pybpf run` and the CLI verbs: settings of several types in .rodata, a .bss
 * counter, a ring buffer of anchored events, a log2 histogram map, a table keyed by a
 * struct and bpf_printk output, all driven by getpgid() calls of one process. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum run_mode { MODE_OFF = 0, MODE_ON = 1, MODE_LOUD = 2 };

const volatile __u32 targ_pid = 0;
const volatile bool enabled = false;
const volatile char tag[16] = {};
const volatile enum run_mode mode = MODE_OFF;

__u64 hits = 0;

struct run_event {
	__u32 pid;
	__u32 seq;
	__u64 arg;
	char tag[16];
	__u32 mode;
};

struct run_key {
	__u32 pid;
	char comm[16];
};

struct run_event *unused_run_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} sizes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct run_key);
	__type(value, __u64);
} by_key SEC(".maps");

static __always_inline __u32 bit_length(__u64 v)
{
	__u32 n = 0;

	for (int i = 0; i < 64 && v; i++) {
		v >>= 1;
		n++;
	}
	return n;
}

static __always_inline void bump(void *map, void *key)
{
	static const __u64 one = 1;
	__u64 *v = bpf_map_lookup_elem(map, key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

SEC("tp/syscalls/sys_enter_getpgid")
int on_getpgid(struct trace_event_raw_sys_enter *ctx)
{
	struct run_key key = {};
	struct run_event *e;
	__u64 arg = ctx->args[0];
	__u32 slot;

	if ((bpf_get_current_pid_tgid() >> 32) != targ_pid || !enabled)
		return 0;
	hits++;
	slot = bit_length(arg);
	bump(&sizes, &slot);
	key.pid = targ_pid;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	bump(&by_key, &key);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = targ_pid;
		e->seq = hits;
		e->arg = arg;
		for (int i = 0; i < sizeof(e->tag); i++)
			e->tag[i] = tag[i]; /* volatile reads: the value is set at load */
		e->mode = mode;
		bpf_ringbuf_submit(e, 0);
	}
	if (mode == MODE_LOUD)
		bpf_printk("pybpf-run arg=%llu", arg);
	return 0;
}

/* A samples/bpf-style object (seeds 000 and 003): uapi headers only, maps in the
 * legacy "maps" section as struct bpf_map_def, helpers declared as function
 * pointers to their ids, a "version" section, no BTF. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <linux/version.h>

#define SEC(NAME) __attribute__((section(NAME), used))

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
	unsigned int inner_map_idx;
	unsigned int numa_node;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
				   unsigned long long flags) = (void *)BPF_FUNC_map_update_elem;
static unsigned long long (*bpf_get_current_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;
static unsigned long long (*bpf_get_current_uid_gid)(void) = (void *)BPF_FUNC_get_current_uid_gid;
static long (*bpf_get_current_comm)(void *buf, unsigned int size) = (void *)BPF_FUNC_get_current_comm;
static long (*bpf_perf_event_output)(void *ctx, void *map, unsigned long long flags, void *data,
				     unsigned long long size) = (void *)BPF_FUNC_perf_event_output;

struct hist_key {
	unsigned int index;
	unsigned long long pid_tgid;
	unsigned long long uid_gid;
	char comm[16];
};

struct bpf_map_def SEC("maps") getpid_count = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(unsigned int),
	.value_size = sizeof(long),
	.max_entries = 1024,
};

struct bpf_map_def SEC("maps") my_hist_map = {
	.type = BPF_MAP_TYPE_PERCPU_HASH,
	.key_size = sizeof(struct hist_key),
	.value_size = sizeof(long),
	.max_entries = 1024,
};

struct bpf_map_def SEC("maps") events = {
	.type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
	.key_size = sizeof(int),
	.value_size = sizeof(unsigned int),
	.max_entries = 64,
};

static unsigned int log2(unsigned int v)
{
	unsigned int r, shift;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static unsigned int log2l(unsigned long v)
{
	unsigned int hi = v >> 32;

	if (hi)
		return log2(hi) + 32;
	return log2(v);
}

/* Counts getpid() calls per process (tracepoint, attachable on this kernel). */
SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
	unsigned int pid = bpf_get_current_pid_tgid() >> 32;
	long init_val = 1;
	long *value;

	value = bpf_map_lookup_elem(&getpid_count, &pid);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&getpid_count, &pid, &init_val, BPF_ANY);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &pid, sizeof(pid));
	return 0;
}

/* seed 003's tracex2: histogram of write() sizes (kprobe: loads, cannot attach here). */
SEC("kprobe/ksys_write")
int bpf_prog3(struct pt_regs *ctx)
{
	long write_size = ctx->rdx;
	long init_val = 1;
	long *value;
	struct hist_key key;

	key.index = log2l(write_size);
	key.pid_tgid = bpf_get_current_pid_tgid();
	key.uid_gid = bpf_get_current_uid_gid();
	bpf_get_current_comm(&key.comm, sizeof(key.comm));

	value = bpf_map_lookup_elem(&my_hist_map, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&my_hist_map, &key, &init_val, BPF_ANY);
	return 0;
}

/* A legacy "socket1"-style section name (samples/bpf sockex1). */
SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	return 0;
}

char _license[] SEC("license") = "GPL";
unsigned int _version SEC("version") = LINUX_VERSION_CODE;

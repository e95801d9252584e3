/* samples/bpf tracex2 (seed 003): write() sizes in log2 slots keyed by pid, uid and
 * comm. The tracepoint program runs everywhere; the kprobe one needs CONFIG_KPROBES. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hist.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct hist_key);
	__type(value, __u64);
} hist SEC(".maps");

/* bcc's log2 slot: 0 for 0, floor(log2(v)) + 1 otherwise */
static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 slot_of(__u64 v)
{
	__u32 hi = v >> 32;

	if (!v)
		return 0;
	if (hi)
		return log2_u32(hi) + 33;
	return log2_u32((__u32)v) + 1;
}

static __always_inline int count_write(__u64 size)
{
	static const __u64 one = 1;
	struct hist_key key = {};
	__u64 *value;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (targ_pid && pid != targ_pid)
		return 0;
	key.pid = pid;
	key.uid = (__u32)bpf_get_current_uid_gid();
	key.slot = slot_of(size);
	bpf_get_current_comm(&key.comm, sizeof(key.comm));

	value = bpf_map_lookup_elem(&hist, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&hist, &key, &one, BPF_NOEXIST);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int write_tp(struct trace_event_raw_sys_enter *ctx)
{
	return count_write(ctx->args[2]);
}

SEC("kprobe/ksys_write")
int BPF_KPROBE(write_kprobe, unsigned int fd, const char *buf, size_t count)
{
	return count_write(count);
}

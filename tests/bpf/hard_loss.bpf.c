// Loss accounting for pybpf's hardening tests. `produce` (a syscall program run with
// BPF_PROG_TEST_RUN) writes args->count records into a small ring buffer through
// pybpf_ringbuf_reserve (pybpf.h), half of them with pybpf_ringbuf_output, so a burst
// overflows the ring and the macro counts what was lost. `on_getppid` writes one
// record per getppid() of `target_pid` into a roomy ring (threaded-reader tests), and
// `on_getsid` a burst of `burst` records per getsid() into the small one (`pybpf run`).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <pybpf.h>

char LICENSE[] SEC("license") = "GPL";

struct loss_event {
	__u64 seq;
	__u32 cpu;
	__u32 pad;
};

struct args {
	__u64 count;		/* records to write */
	__u64 written;		/* out: records the ring took */
	__u64 failed;		/* out: records the ring refused */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} lossy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} roomy SEC(".maps");

const struct loss_event *unused_loss_event __attribute__((unused));

__u64 next_seq = 0;
__u32 target_pid = 0;
__u32 burst = 0;

static long emit(__u64 i, struct args *a)
{
	struct loss_event ev = {}, *e;

	ev.seq = __sync_fetch_and_add(&next_seq, 1);
	ev.cpu = bpf_get_smp_processor_id();
	if (i & 1) {
		if (pybpf_ringbuf_output(lossy, &ev, sizeof(ev), 0))
			a->failed++;
		else
			a->written++;
		return 0;
	}
	e = pybpf_ringbuf_reserve(lossy, sizeof(*e));
	if (!e) {
		a->failed++;
		return 0;
	}
	*e = ev;
	bpf_ringbuf_submit(e, 0);
	a->written++;
	return 0;
}

SEC("syscall")
int produce(struct args *a)
{
	struct args st = { .count = a->count };

	bpf_loop(st.count, emit, &st, 0);
	a->written = st.written;
	a->failed = st.failed;
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct loss_event *e;

	if ((bpf_get_current_pid_tgid() >> 32) != target_pid)
		return 0;
	e = pybpf_ringbuf_reserve(roomy, sizeof(*e));
	if (!e)
		return 0;
	e->seq = __sync_fetch_and_add(&next_seq, 1);
	e->cpu = bpf_get_smp_processor_id();
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_getsid")
int on_getsid(void *ctx)
{
	struct args st = { .count = burst };

	if ((bpf_get_current_pid_tgid() >> 32) != target_pid)
		return 0;
	bpf_loop(st.count, emit, &st, 0);
	return 0;
}

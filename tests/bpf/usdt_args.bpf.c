// USDT programs of pybpf's usdt tests, on libbpf's usdt.bpf.h contract: every hit
// records its probe kind, pid, argument count, user cookie and all arguments
// (read with bpf_usdt_arg) into a ring buffer. usdt_any is attached by hand;
// usdt_regs names its target in the section (found on $PATH) and uses BPF_USDT.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#define KIND_ANY 1
#define KIND_REGS 2

struct usdt_event {
	__u32 kind;
	__u32 pid;
	__s32 cnt;
	__u32 errs;	/* bit i: bpf_usdt_arg(i) failed for i < cnt */
	__u64 cookie;
	__s64 args[BPF_USDT_MAX_ARG_CNT];
	__s32 beyond;	/* bpf_usdt_arg(cnt): must be -ENOENT */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} usdt_events SEC(".maps");

SEC("usdt")
int usdt_any(struct pt_regs *ctx)
{
	struct usdt_event *e;
	long v;
	int i;

	e = bpf_ringbuf_reserve(&usdt_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->kind = KIND_ANY;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cnt = bpf_usdt_arg_cnt(ctx);
	e->cookie = bpf_usdt_cookie(ctx);
	e->errs = 0;
	e->pad = 0;
	for (i = 0; i < BPF_USDT_MAX_ARG_CNT; i++) {
		v = 0;
		if (bpf_usdt_arg(ctx, i, &v) && i < e->cnt)
			e->errs |= 1u << i;
		e->args[i] = v;
	}
	v = 0;
	e->beyond = e->cnt >= 0 ? bpf_usdt_arg(ctx, e->cnt & 15, &v) : 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("usdt/pybpf_usdt_target:pybpf:regs")
int BPF_USDT(usdt_regs, long a, long b, long c, long d, long e, long f, long g, long h)
{
	struct usdt_event *ev;

	ev = bpf_ringbuf_reserve(&usdt_events, sizeof(*ev), 0);
	if (!ev)
		return 0;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->kind = KIND_REGS;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->cnt = bpf_usdt_arg_cnt(ctx);
	ev->cookie = bpf_usdt_cookie(ctx);
	ev->args[0] = a;
	ev->args[1] = b;
	ev->args[2] = c;
	ev->args[3] = d;
	ev->args[4] = e;
	ev->args[5] = f;
	ev->args[6] = g;
	ev->args[7] = h;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

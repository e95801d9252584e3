/* Object-model cases: several programs per section, a static entry program, static
 * subprograms calling each other inside .text (calls without ELF relocations), a
 * global subprogram, a callback address, and one program per common section name. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

u64 hits;

static __noinline int inner(int x)
{
	return x * 3;
}

static __noinline int outer(int x)
{
	return inner(x) + 1;
}

__noinline int global_sub(int x)
{
	return outer(x) + 2;
}

static int count_cb(u32 idx, void *ctx)
{
	hits += idx;
	return 0;
}

SEC("xdp")
int xdp_first(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_second(struct xdp_md *ctx)
{
	return outer(ctx->ingress_ifindex) > 0 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
static int xdp_static(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp.frags")
int xdp_frags_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc/ingress")
int tc_in(struct __sk_buff *skb)
{
	return global_sub(skb->len);
}

SEC("tcx/egress")
int tcx_out(struct __sk_buff *skb)
{
	return 0;
}

SEC("cgroup_skb/ingress")
int cg_in(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup/connect4")
int cg_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int skb_verdict(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("raw_tp/sys_enter")
int raw_enter(void *ctx)
{
	bpf_loop(4, count_cb, NULL, 0);
	return 0;
}

SEC("tp_btf/sched_switch")
int btf_switch(u64 *ctx)
{
	return 0;
}

SEC("fentry/do_unlinkat")
int fentry_unlink(u64 *ctx)
{
	return 0;
}

SEC("lsm.s/file_open")
int lsm_open(u64 *ctx)
{
	return 0;
}

SEC("iter/task")
int iter_task(void *ctx)
{
	return 0;
}

SEC("uprobe//proc/self/exe:spec_uprobe_target+8")
int up(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe.s/libc.so.6:malloc")
int uret(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt/libc.so.6:libc:setjmp")
int usdt_prog(struct pt_regs *ctx)
{
	return 0;
}

SEC("kretprobe/do_unlinkat")
int kret(struct pt_regs *ctx)
{
	return 0;
}

SEC("ksyscall/getpid")
int ksys(struct pt_regs *ctx)
{
	return 0;
}

SEC("kprobe.multi/do_unlink*")
int kmulti(struct pt_regs *ctx)
{
	return 0;
}

SEC("perf_event")
int on_perf(void *ctx)
{
	return 0;
}

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	return 0;
}

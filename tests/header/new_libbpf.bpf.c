/* A program written against libbpf 1.3+ headers: it uses macros that Debian's
 * libbpf 1.1.2 lacks and does not include pybpf.h. `pybpf build` must compile it
 * unchanged (it force-includes pybpf/compat.h); the test then loads and runs it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

enum {
	R_UARG1,	/* first argument seen by BPF_UPROBE */
	R_UARG6,	/* sixth argument seen by BPF_UPROBE (PT_REGS_PARM6) */
	R_URET,		/* return value seen by BPF_URETPROBE */
	R_KSYM_YES,	/* bpf_ksym_exists(present kfunc) */
	R_KSYM_NO,	/* bpf_ksym_exists(absent kfunc) */
	R_FOR_SUM,	/* sum of i over bpf_for(i, 3, 10) */
	R_REPEAT,	/* iterations of bpf_repeat(5) */
	R_FOR_EACH,	/* sum over bpf_for_each(num, ...) */
	R_LIKELY,	/* likely(true) counts 1, unlikely(false) would add 2 */
	R_ARG_CTX,	/* a global function with an __arg_ctx argument ran */
	R_CAST_PID,	/* bpf_core_cast(task)->tgid */
	R_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, R_MAX);
	__type(key, __u32);
	__type(value, __s64);
} results SEC(".maps");

/* __ulong: a 64-bit map field (the bloom filter's number of hash functions) */
struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 16);
	__type(value, long);
	__ulong(map_extra, 3);
} seen SEC(".maps");

/* __kptr_untrusted/__percpu_kptr only have to compile into a valid map value */
struct holder {
	struct task_struct __kptr_untrusted *task;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct holder);
} holders SEC(".maps");

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_pybpf_compat_absent_kfunc(void) __ksym __weak;

static void put(__u32 k, __s64 v)
{
	bpf_map_update_elem(&results, &k, &v, BPF_ANY);
}

SEC("uprobe")
int BPF_UPROBE(nl_uprobe, long a, long b, long c, long d, long e, long f)
{
	put(R_UARG1, a);
	put(R_UARG6, f);
	bpf_map_push_elem(&seen, &a, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(nl_uretprobe, long ret)
{
	put(R_URET, ret);
	return 0;
}

__noinline int count_ctx(void *ctx __arg_ctx)
{
	return ctx != 0;
}

SEC("syscall")
int nl_syscall(void *ctx)
{
	__s64 sum = 0, n = 0, each = 0;
	int i, *v;
	struct task_struct *task;
	__u32 pid;

	put(R_KSYM_YES, bpf_ksym_exists(bpf_task_from_pid));
	put(R_KSYM_NO, bpf_ksym_exists(bpf_pybpf_compat_absent_kfunc));

	bpf_for(i, 3, 10)
		sum += i;
	put(R_FOR_SUM, sum);

	bpf_repeat(5)
		n++;
	put(R_REPEAT, n);

	bpf_for_each(num, v, 0, 4)
		each += *v;
	put(R_FOR_EACH, each);

	pid = bpf_get_current_pid_tgid() >> 32;
	put(R_LIKELY, (likely(pid > 0) ? 1 : 0) + (unlikely(pid == 0) ? 2 : 0));
	put(R_ARG_CTX, count_ctx(ctx));

	task = bpf_core_cast(bpf_get_current_task_btf(), struct task_struct);
	put(R_CAST_PID, task->tgid);
	return 0;
}

/* Attach tests: one program per tracing hook this kernel supports, counting real
 * events of the test process (lt_config[0] = its pid) into counts[]. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

enum {
	C_TP = 0,	/* tp/syscalls/sys_enter_getpid */
	C_RAW = 1,	/* raw_tp/sys_enter, syscall id getpid */
	C_EXEC = 2,	/* tp_btf/sched_process_exec of a child */
	C_UPROBE = 3,	/* uprobe on the target's pybpf_target_add */
	C_URET = 4,	/* uretprobe on pybpf_target_mul, summing return values */
	C_SAMPLE = 5,	/* perf_event samples */
	C_UARG = 6,	/* sum of the first argument seen by the uprobe */
	C_MAX = 8,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} lt_config SEC(".maps");

static __always_inline __u32 target_pid(void)
{
	__u32 zero = 0, *pid = bpf_map_lookup_elem(&lt_config, &zero);

	return pid ? *pid : 0;
}

static __always_inline void add(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline int is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_pid();
}

SEC("tp/syscalls/sys_enter_getpid")
int lt_tp_getpid(void *ctx)
{
	if (is_target())
		add(C_TP, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int lt_raw_enter(struct bpf_raw_tracepoint_args *ctx)
{
	/* args: (struct pt_regs *regs, long id) */
	if (is_target() && ctx->args[1] == 39 /* __NR_getpid on x86-64 */)
		add(C_RAW, 1);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(lt_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (p->real_parent->tgid == target_pid())
		add(C_EXEC, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lt_uprobe_add, long a, long b)
{
	add(C_UPROBE, 1);
	add(C_UARG, a);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lt_uret_mul, long ret)
{
	add(C_URET, ret);
	return 0;
}

SEC("perf_event")
int lt_sample(void *ctx)
{
	add(C_SAMPLE, 1);
	return 0;
}

SEC("iter/task")
int lt_iter_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task || task->pid != task->tgid)
		return 0;
	BPF_SEQ_PRINTF(seq, "%d %s\n", task->tgid, task->comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

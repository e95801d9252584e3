/* Kernel symbol externs (.ksyms).
 * read_ksyms: a typeless ksym of a function symbol (this kernel's kallsyms lacks data
 * symbols), a kfunc pair valid for syscall programs and a weak kfunc that no kernel
 * has (resolves to absent, its call is dead code).
 * read_percpu: typed per-CPU variables read through bpf_this_cpu_ptr(); they resolve
 * from BTF, but the kernel needs CONFIG_KALLSYMS_ALL to find their addresses at load
 * time, so on kernels without it this program must fail with a clear error. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern const void schedule __ksym;
extern const struct rq runqueues __ksym;
extern const int bpf_prog_active __ksym;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_pybpf_no_such_kfunc(void) __ksym __weak;

u64 schedule_addr;
s32 lookup_pid = 1;
s32 found_tgid = -1;
u32 missing_kfunc_exists = 7;
u32 rq_cpu;
s32 prog_active = -1;

SEC("syscall")
int read_ksyms(void *ctx)
{
	struct task_struct *t;

	schedule_addr = (u64)&schedule;
	t = bpf_task_from_pid(lookup_pid);
	if (t) {
		found_tgid = t->tgid;
		bpf_task_release(t);
	}
	missing_kfunc_exists = !!bpf_pybpf_no_such_kfunc;
	if (bpf_pybpf_no_such_kfunc)
		bpf_pybpf_no_such_kfunc();
	return 0;
}

SEC("syscall")
int read_percpu(void *ctx)
{
	struct rq *rq = bpf_this_cpu_ptr(&runqueues);
	const int *active = bpf_this_cpu_ptr(&bpf_prog_active);

	rq_cpu = rq->cpu;
	prog_active = *active;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

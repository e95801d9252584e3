/* Externs resolved per program: strong ksyms no kernel has (a kfunc and a typeless
 * symbol) used only by `needs_missing`; `plain` uses a present kfunc and weak externs
 * that no kernel has. With `needs_missing` off (autoload = False) the object loads and
 * the weak ones read as 0; with it on the load fails naming the missing symbol. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_pybpf_parity_missing_kfunc(void) __ksym;
extern const void pybpf_parity_missing_sym __ksym;
extern void bpf_pybpf_parity_weak_kfunc(void) __ksym __weak;
extern const void pybpf_parity_weak_sym __ksym __weak;

s32 lookup_pid;
s32 found_task = -1;
u64 weak_kfunc = 7, weak_sym = 7, missing_sym;

SEC("syscall")
int plain(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(lookup_pid);

	found_task = t != 0;
	if (t)
		bpf_task_release(t);
	weak_kfunc = (u64)bpf_pybpf_parity_weak_kfunc;
	weak_sym = (u64)&pybpf_parity_weak_sym;
	return 0;
}

SEC("syscall")
int needs_missing(void *ctx)
{
	bpf_pybpf_parity_missing_kfunc();
	missing_sym = (u64)&pybpf_parity_missing_sym;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

/* Static linker test, object 2 of 2 (with link_kfunc_a.bpf.c): the same kfuncs again. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern int kf_value(int x);
extern u64 kf_count;

SEC("syscall")
int kfunc_b(void *ctx)
{
	bpf_rcu_read_lock();
	kf_count += 10;
	bpf_rcu_read_unlock();
	return kf_value(5);
}

char LICENSE[] SEC("license") = "GPL";

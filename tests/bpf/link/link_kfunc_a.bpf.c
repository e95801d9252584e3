/* Static linker test, object 1 of 2 (with link_kfunc_b.bpf.c): kfuncs (.ksyms externs)
 * that both objects declare, and a function the other object calls. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

u64 kf_count;

int kf_value(int x) { return x * 3; }

SEC("syscall")
int kfunc_a(void *ctx)
{
	bpf_rcu_read_lock();
	kf_count += 1;
	bpf_rcu_read_unlock();
	return kf_value(2);
}

char LICENSE[] SEC("license") = "GPL";

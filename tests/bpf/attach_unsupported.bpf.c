/* Attach tests: hooks this kernel cannot attach (kprobes, trampolines); each
 * program loads alone so the tests can assert the clear errors. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(lt_kprobe, int dfd)
{
	return 0;
}

SEC("ksyscall/getpid")
int lt_ksyscall(struct pt_regs *ctx)
{
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(lt_fentry, int dfd)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

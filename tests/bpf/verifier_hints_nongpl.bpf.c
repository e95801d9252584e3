/* gpl-only: a GPL-only helper in a program whose license is not GPL-compatible. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Proprietary";

SEC("tp/syscalls/sys_enter_getpid")
int vh_gpl_only(void *ctx)
{
	bpf_printk("hello"); /* HINT gpl-only */
	return 0;
}

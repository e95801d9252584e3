/* An unguarded read of a field the kernel lacks: the CO-RE relocation fails and the
 * load must report it readably. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___future {
	int no_such_field_in_any_kernel;
} __attribute__((preserve_access_index));

u32 value;

SEC("tp/syscalls/sys_enter_getpid")
int unguarded(void *ctx)
{
	struct task_struct___future *t = (void *)bpf_get_current_task();

	value = BPF_CORE_READ(t, no_such_field_in_any_kernel);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

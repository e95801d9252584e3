/* CO-RE: reads kernel structures through relocations resolved against the running
 * kernel's BTF (field offsets, sizes, existence, signedness, bitfields, type and enum
 * relocations) and kconfig externs. Results land in .bss for the tests to compare
 * with /proc and /proc/config.gz. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* A local view of task_struct with a deliberately different layout: every access is
 * relocated to the kernel's real offsets. */
struct task_struct___mine {
	int tgid;
	int pid;
	char comm[16];
	struct task_struct___mine *real_parent;
} __attribute__((preserve_access_index));

/* A field no kernel has: only reachable behind bpf_core_field_exists(). */
struct task_struct___future {
	int no_such_field_in_any_kernel;
} __attribute__((preserve_access_index));

/* A type no kernel has, under any flavor. */
struct pybpf_no_such_type {
	int x;
};

/* Local enum with other values: relocated to the kernel's values. */
enum pid_type___mine { PIDTYPE_SID___mine = 77, PIDTYPE_TGID___mine = 78 };
enum perf_callchain_context___mine { PERF_CONTEXT_USER___mine = 5 };
enum not_in_kernel___x { NOT_IN_KERNEL___x = 1 };

extern u32 LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int CONFIG_HZ __kconfig;
extern int CONFIG_NR_CPUS __kconfig;
extern bool CONFIG_BPF_JIT __kconfig;
extern enum libbpf_tristate CONFIG_BPF_SYSCALL __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig;
extern int CONFIG_PYBPF_NOT_A_REAL_OPTION __kconfig __weak;

struct result {
	u32 hits;
	s32 pid;
	s32 tgid;
	s32 ppid;
	char comm[16];
	u64 reset_on_fork;	/* task_struct.sched_reset_on_fork: a 1-bit bitfield */
	u64 enum_sid;
	u64 enum_tgid;
	u64 enum64_user;
	u32 enum_missing_exists;
	u32 future_field_exists;
	u32 future_field_value;
	u32 pid_exists;
	u32 pid_size;
	u32 pid_signed;
	u32 comm_size;
	u32 task_exists;
	u32 task_size;
	u32 task_kernel_id;
	u32 missing_type_exists;
	u32 flavor_type_exists;
	u32 pid_type_matches;
	u32 kver;
	u32 has_cookie;
	u32 has_syscall_wrapper;
	u32 hz;
	u32 nr_cpus;
	u32 bpf_jit;
	u32 bpf_syscall;
	u32 not_real_option;
	char hostname[16];
};

const volatile s32 target_tgid = 0;
struct result out;

SEC("tp/syscalls/sys_enter_getpid")
int read_task(void *ctx)
{
	struct task_struct___mine *t = (void *)bpf_get_current_task();
	struct task_struct *kt = (void *)t;
	struct task_struct___future *ft = (void *)t;

	if ((s32)(bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	out.hits++;
	out.pid = BPF_CORE_READ(t, pid);
	out.tgid = BPF_CORE_READ(t, tgid);
	out.ppid = BPF_CORE_READ(t, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&out.comm, t, comm);
	out.reset_on_fork = BPF_CORE_READ_BITFIELD_PROBED(kt, sched_reset_on_fork);

	out.enum_sid = bpf_core_enum_value(enum pid_type___mine, PIDTYPE_SID___mine);
	out.enum_tgid = bpf_core_enum_value(enum pid_type___mine, PIDTYPE_TGID___mine);
	out.enum64_user = bpf_core_enum_value(enum perf_callchain_context___mine,
					      PERF_CONTEXT_USER___mine);
	out.enum_missing_exists = bpf_core_enum_value_exists(enum not_in_kernel___x,
							     NOT_IN_KERNEL___x);

	out.future_field_exists = bpf_core_field_exists(ft->no_such_field_in_any_kernel);
	if (bpf_core_field_exists(ft->no_such_field_in_any_kernel))
		out.future_field_value = BPF_CORE_READ(ft, no_such_field_in_any_kernel);
	out.pid_exists = bpf_core_field_exists(t->pid);
	out.pid_size = bpf_core_field_size(t->pid);
	out.pid_signed = __builtin_preserve_field_info(t->pid, BPF_FIELD_SIGNED);
	out.comm_size = bpf_core_field_size(t->comm);

	out.task_exists = bpf_core_type_exists(struct task_struct);
	out.task_size = bpf_core_type_size(struct task_struct);
	out.task_kernel_id = bpf_core_type_id_kernel(struct task_struct);
	/* flavors match by essential name: task_struct___future "exists" as task_struct */
	out.flavor_type_exists = bpf_core_type_exists(struct task_struct___future);
	out.missing_type_exists = bpf_core_type_exists(struct pybpf_no_such_type);
	/* libbpf 1.1's headers predate bpf_core_type_matches(): 2 is BPF_TYPE_MATCHES. */
	out.pid_type_matches = __builtin_preserve_type_info(*(enum pid_type *)0, 2);

	out.kver = LINUX_KERNEL_VERSION;
	out.has_cookie = LINUX_HAS_BPF_COOKIE;
	out.has_syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	out.hz = CONFIG_HZ;
	out.nr_cpus = CONFIG_NR_CPUS;
	out.bpf_jit = CONFIG_BPF_JIT;
	out.bpf_syscall = CONFIG_BPF_SYSCALL;
	out.not_real_option = CONFIG_PYBPF_NOT_A_REAL_OPTION;
	__builtin_memcpy(out.hostname, CONFIG_DEFAULT_HOSTNAME, sizeof(out.hostname));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

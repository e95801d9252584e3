/* Kernel-matrix tests (tests/matrix): kprobes in the style of the seeds. mx_open reads the
 * arguments of do_sys_openat2 through PT_REGS_PARMn and task_struct fields through
 * BPF_CORE_READ and bpf_probe_read_kernel, for checks against /proc on 5.10/6.1/6.12. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct open_rec {
	__s64 dfd;
	__u64 flags;
	__u64 mode;
	__u32 tgid;
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u64 start_boottime;
	char comm[16];
	char filename[64];
};

/* counts[] slots */
enum { C_OPEN = 0, C_OPEN_RET = 1, C_OFFSET = 2, C_KSYS = 3, C_KRETSYS = 4, C_MAX = 8 };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __s64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __s64);
} last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_rec);
} opened SEC(".maps");

/* [0]: pid of the test process, [1]: the directory fd its marked open() uses */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __s64);
} mx_config SEC(".maps");

static __always_inline __s64 mx_cfg(__u32 i)
{
	__s64 *v = bpf_map_lookup_elem(&mx_config, &i);

	return v ? *v : -1;
}

static __always_inline int is_target(void)
{
	return (__s64)(bpf_get_current_pid_tgid() >> 32) == mx_cfg(0);
}

static __always_inline void hit(__u32 slot, __s64 value)
{
	__s64 *c = bpf_map_lookup_elem(&counts, &slot);
	__s64 *l = bpf_map_lookup_elem(&last, &slot);

	if (c)
		__sync_fetch_and_add(c, 1);
	if (l)
		*l = value;
}

SEC("kprobe/do_sys_openat2")
int mx_open(struct pt_regs *ctx)
{
	int dfd = (int)PT_REGS_PARM1(ctx);
	const char *filename = (const char *)PT_REGS_PARM2(ctx);
	struct open_how *how = (struct open_how *)PT_REGS_PARM3(ctx);
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct open_rec *r;
	__u32 zero = 0;

	if (!is_target() || dfd != mx_cfg(1))
		return 0;
	r = bpf_map_lookup_elem(&opened, &zero);
	if (!r)
		return 0;
	r->dfd = dfd;
	r->flags = BPF_CORE_READ(how, flags);
	bpf_probe_read_kernel(&r->mode, sizeof(r->mode), &how->mode);
	r->tgid = BPF_CORE_READ(task, tgid);
	bpf_probe_read_kernel(&r->pid, sizeof(r->pid), &task->pid);
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->uid = BPF_CORE_READ(task, cred, uid.val);
	r->start_boottime = BPF_CORE_READ(task, start_boottime);
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), task->comm);
	bpf_probe_read_user_str(r->filename, sizeof(r->filename), filename);
	hit(C_OPEN, dfd);
	return 0;
}

SEC("kretprobe/do_sys_openat2")
int BPF_KRETPROBE(mx_open_ret, long ret)
{
	if (is_target())
		hit(C_OPEN_RET, ret);
	return 0;
}

/* attached by the test at an offset into a function */
SEC("kprobe")
int mx_offset(struct pt_regs *ctx)
{
	if (is_target())
		hit(C_OFFSET, 1);
	return 0;
}

/* the syscall wrapper's only argument is the user's pt_regs (x86-64 since 4.17) */
SEC("ksyscall/getpgid")
int mx_ksys(struct pt_regs *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)PT_REGS_PARM1(ctx);

	if (is_target())
		hit(C_KSYS, PT_REGS_PARM1_CORE(regs));
	return 0;
}

SEC("kretsyscall/getpgid")
int BPF_KRETPROBE(mx_kretsys, long ret)
{
	if (is_target())
		hit(C_KRETSYS, ret);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

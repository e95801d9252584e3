// The BPF side of libbpf >= 1.7's USDT contract, written out for pybpf's tests:
// Debian's libbpf-dev (1.1) ships a usdt.bpf.h without scale-index-base (SIB)
// arguments. Same maps and spec layout as the newer header (arg_type narrowed to
// 8 bits, then a 12-bit index register offset and a 4-bit scale shift); the
// program reads argument 0 of the probe it fires on and records it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum __bpf_usdt_arg_type {
	BPF_USDT_ARG_CONST,
	BPF_USDT_ARG_REG,
	BPF_USDT_ARG_REG_DEREF,
	BPF_USDT_ARG_SIB,
};

struct __bpf_usdt_arg_spec {
	__u64 val_off;
	enum __bpf_usdt_arg_type arg_type: 8;
	__u16 idx_reg_off: 12;
	__u16 scale_bitshift: 4;
	__u8 __reserved: 8;
	short reg_off;
	bool arg_signed;
	char arg_bitshift;
};

struct __bpf_usdt_spec {
	struct __bpf_usdt_arg_spec args[12];
	__u64 usdt_cookie;
	short arg_cnt;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, int);
	__type(value, struct __bpf_usdt_spec);
} __bpf_usdt_specs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, long);
	__type(value, __u32);
} __bpf_usdt_ip_to_spec_id SEC(".maps");

struct sib_result {
	__s64 value;	/* argument 0 */
	__u32 arg_type;
	__s32 err;
	__u64 hits;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sib_result);
} sib_results SEC(".maps");

SEC("usdt")
int usdt_sib(struct pt_regs *ctx)
{
	struct __bpf_usdt_arg_spec *arg;
	struct __bpf_usdt_spec *spec;
	struct sib_result *res;
	__u32 zero = 0;
	int spec_id = bpf_get_attach_cookie(ctx);
	unsigned long val = 0, idx = 0;
	long err = 0;

	res = bpf_map_lookup_elem(&sib_results, &zero);
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &spec_id);
	if (!res || !spec)
		return 0;
	arg = &spec->args[0];
	res->hits++;
	res->arg_type = arg->arg_type;
	switch (arg->arg_type) {
	case BPF_USDT_ARG_CONST:
		val = arg->val_off;
		break;
	case BPF_USDT_ARG_REG:
		err = bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx + arg->reg_off);
		break;
	case BPF_USDT_ARG_REG_DEREF:
		err = bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx + arg->reg_off);
		if (!err)
			err = bpf_probe_read_user(&val, sizeof(val), (void *)val + arg->val_off);
		break;
	case BPF_USDT_ARG_SIB:
		err = bpf_probe_read_kernel(&val, sizeof(val), (void *)ctx + arg->reg_off);
		if (!err)
			err = bpf_probe_read_kernel(&idx, sizeof(idx), (void *)ctx + arg->idx_reg_off);
		if (!err)
			err = bpf_probe_read_user(&val, sizeof(val),
						  (void *)(val + (idx << arg->scale_bitshift) + arg->val_off));
		break;
	default:
		err = -22;
	}
	val <<= arg->arg_bitshift;
	if (arg->arg_signed)
		val = ((long)val) >> arg->arg_bitshift;
	else
		val = val >> arg->arg_bitshift;
	res->value = val;
	res->err = err;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// Exercises many BTF kinds for pybpf's BTF reader/encoder/layout tests:
// bitfields, signed/unsigned/64-bit enums, unions, arrays, typedefs, function
// pointers, decl/type tags, floats and globals in .data/.rodata/.bss.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))

enum btf_color { BTF_RED = 0, BTF_GREEN = 1, BTF_BLUE = 7 };
enum btf_signed { BTF_NEG = -2, BTF_ZERO = 0, BTF_POS = 3 };
enum btf_big { BTF_BIG_LOW = 1, BTF_BIG_HIGH = 0x123456789abcdefULL, BTF_BIG_TOP = 0xffffffff00000000ULL };

typedef unsigned int btf_u32_t;
typedef int (*btf_callback_t)(void *ctx, int arg, ...);

struct btf_bits {
	unsigned int a : 3;
	unsigned int b : 5;
	int c : 7;
	unsigned long long d : 40;
	unsigned char e;
	_Bool flag : 1;
	enum btf_color color : 4;
};

union btf_value {
	__u64 u;
	__s32 s[2];
	char bytes[8];
	double d;
};

struct btf_event {
	__u32 pid;
	__s16 delta;
	char comm[16];
	enum btf_color color;
	enum btf_signed sign;
	enum btf_big big;
	btf_u32_t counts[4];
	struct btf_bits bits;
	union btf_value val;
	float ratio;
	double mean;
	long long nested[2][3];
	void *ptr;
	int __ttag("user") *tagged;
	btf_callback_t cb;
	_Bool ok;
} __tag("event_tag");

struct btf_packed {
	char c;
	__u32 x;
	__u16 y;
} __attribute__((packed));

struct btf_event btf_data_event = { .pid = 1 };
const volatile __u64 btf_rodata_limit = 42;
const volatile char btf_rodata_name[8] = "pybpf";
struct btf_event btf_bss_event;
struct btf_packed btf_bss_packed;
__u32 btf_bss_counter __tag("counter_tag");
float btf_data_float = 1.5f;

static __noinline int btf_helper(struct btf_event *ev __tag("arg_tag"), int n)
{
	if (!ev)
		return 0;
	return ev->pid + n + (int)ev->bits.a;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int btf_types_prog(void *ctx)
{
	btf_bss_counter++;
	btf_bss_event.pid = btf_rodata_limit;
	btf_bss_event.bits.c = -3;
	btf_bss_packed.x = btf_helper(&btf_data_event, btf_rodata_name[0]);
	btf_data_event.ratio = btf_data_float;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

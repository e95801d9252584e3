// Tricky C types for the BTF-to-C dumper's differential tests (pybpf.btf.cdump):
// packed and over-aligned records, padding gaps, bitfields crossing storage units,
// nested anonymous records and enums, function pointers and arrays of them,
// multi-dimensional arrays, qualifiers, type tags, enums of every width and sign,
// and pointer cycles that need forward declarations.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define __ttag(x) __attribute__((btf_type_tag(x)))

struct cd_packed {
	char c;
	long l;
	short s;
} __attribute__((packed));

struct cd_packed_tail {
	int a;
	char b;
} __attribute__((packed));

struct cd_aligned {
	char c;
	int x __attribute__((aligned(16)));
	char tail;
} __attribute__((aligned(32)));

struct cd_gaps {
	char a;
	char b __attribute__((aligned(8)));
	int c __attribute__((aligned(64)));
	short d;
	long e __attribute__((aligned(32)));
};

struct cd_bits {
	unsigned int a : 3;
	unsigned int : 0;
	unsigned int b : 30;
	unsigned long long c : 60;
	unsigned long long d : 10;
	char e;
	unsigned int f : 31;
	unsigned short g : 9;
	unsigned char h : 1;
	long long i : 33;
	unsigned int j : 4;
} ;

struct cd_bits_gap {
	char a;
	int : 12;
	int b : 4;
	long : 3;
	long c : 7;
	char d;
	long long e;
};

struct cd_bits_packed {
	unsigned char a : 2;
	unsigned int b : 20;
	unsigned long c : 50;
} __attribute__((packed));

struct cd_node;
typedef struct cd_node cd_node_t;

typedef int (*cd_cb_t)(cd_node_t *node, const char *restrict name, ...);
typedef void (*cd_void_fn_t)(void);
typedef int (*(*cd_fn_ret_fn_t)(int))(long);
typedef cd_cb_t cd_cb_table_t[4];
typedef int cd_matrix_t[3][4][5];

enum cd_small { CD_S0, CD_S1 = 200 } __attribute__((packed));
enum cd_neg { CD_NEG = -5, CD_POS = 5 };
enum cd_big { CD_B0 = 0, CD_BIG = 0xfedcba9876543210ULL };
enum cd_big_neg { CD_BN = -0x100000000LL, CD_BP = 1 };
enum cd_wide { CD_W0 = 1, CD_W1 = 2 } __attribute__((mode(word)));

struct cd_node {
	cd_node_t *next;
	struct cd_node **prevp;
	struct cd_other *other;
	union {
		struct {
			int x, y;
		} point;
		struct {
			__u64 lo : 40;
			__u64 hi : 24;
		};
		long raw;
	};
	enum {
		CD_ANON_A = 1,
		CD_ANON_B = -1,
	} anon_enum;
	struct {
		union {
			char tag[3];
			short half;
		} u;
		int (*handler)(struct cd_node *self, int (*inner)(void));
		void (*handlers[2])(int);
	} nested;
	cd_cb_t cb;
	cd_cb_table_t table;
	cd_void_fn_t vfn;
	cd_fn_ret_fn_t frf;
	cd_matrix_t m;
	int (*ptr_to_arr)[7];
	const volatile int *const cvp;
	char *restrict rp;
	int __ttag("user") *tagged;
	int __ttag("percpu") __ttag("rcu") *two_tags;
	enum cd_small small;
	enum cd_neg neg;
	enum cd_big big;
	enum cd_big_neg big_neg;
	enum cd_wide wide;
	struct cd_packed packed;
	struct cd_packed_tail ptail[2];
	struct cd_aligned aligned;
	struct cd_gaps gaps;
	struct cd_bits bits;
	struct cd_bits_gap bits_gap;
	struct cd_bits_packed bits_packed;
	char flex[];
};

struct cd_other {
	struct cd_node *back;
	struct {
		struct cd_node *inner_back;
	} *anon_ptr;
	struct cd_empty {
	} empty;
	int arr_of_arr[2][3];
	float f;
	double d;
	long double ld;
	_Bool b;
	unsigned __int128 big;
};

struct cd_node cd_global_node;
struct cd_other cd_global_other;

SEC("tracepoint/syscalls/sys_enter_getpid")
int cdump_prog(void *ctx)
{
	cd_global_node.raw = cd_global_other.arr_of_arr[1][2];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

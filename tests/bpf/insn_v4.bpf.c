// SPDX-License-Identifier: GPL-2.0
/* Exercises the v4 ISA (built with -mcpu=v4): signed div/mod, sign-extending
 * moves and loads, bswap, 32-bit jumps and every atomic read-modify-write.
 * A syscall program on global data, so the verifier accepts it and
 * BPF_PROG_TEST_RUN can run it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct insn_args {
	long a;
	long b;
	int c;
	int d;
	signed char sc;
	short ss;
	int si;
};

long sdiv_res, smod_res;
int sdiv32_res, smod32_res;
long movsx8_res, movsx16_res, movsx32_res;
long ldsx8_res, ldsx16_res, ldsx32_res;
unsigned long bswap16_res, bswap32_res, bswap64_res;
int jmp32_res;

long counter;
int counter32;
long fetch_add_res, fetch_or_res, fetch_and_res, fetch_xor_res;
long xchg_res, cmpxchg_res;
int fetch_add32_res, xchg32_res, cmpxchg32_res;

signed char g_sc = -5;
short g_ss = -300;
int g_si = -70000;

static __noinline long signed_ops(struct insn_args *args)
{
	long a = args->a, b = args->b;
	int c = args->c, d = args->d;

	/* Different divisors for div and mod, so clang emits smod rather than
	 * deriving the remainder from the quotient. */
	if (b != 0)
		sdiv_res = a / b;
	if (b != 1)
		smod_res = a % (b - 1);
	if (d != 0)
		sdiv32_res = c / d;
	if (d != 1)
		smod32_res = c % (d - 1);
	movsx8_res = (long)(signed char)a;
	movsx16_res = (long)(short)a;
	movsx32_res = (long)(int)a;
	ldsx8_res = args->sc;
	ldsx16_res = args->ss;
	ldsx32_res = args->si;
	return 0;
}

static __noinline int byte_swaps(unsigned long v)
{
	bswap16_res = __builtin_bswap16((unsigned short)v);
	bswap32_res = __builtin_bswap32((unsigned int)v);
	bswap64_res = __builtin_bswap64(v);
	return 0;
}

static __noinline int atomics(long v)
{
	__sync_fetch_and_add(&counter, v);
	__sync_fetch_and_add(&counter32, (int)v);
	__sync_fetch_and_or(&counter, 0x10);
	__sync_fetch_and_and(&counter, ~0x1L);
	__sync_fetch_and_xor(&counter, 0x100);
	fetch_add_res = __sync_fetch_and_add(&counter, v);
	fetch_or_res = __sync_fetch_and_or(&counter, 0x20);
	fetch_and_res = __sync_fetch_and_and(&counter, ~0x2L);
	fetch_xor_res = __sync_fetch_and_xor(&counter, 0x200);
	fetch_add32_res = __sync_fetch_and_add(&counter32, 3);
	xchg_res = __sync_lock_test_and_set(&counter, v);
	xchg32_res = __atomic_exchange_n(&counter32, (int)v, __ATOMIC_SEQ_CST);
	cmpxchg_res = __sync_val_compare_and_swap(&counter, v, v + 1);
	cmpxchg32_res = __sync_val_compare_and_swap(&counter32, (int)v, 7);
	return 0;
}

SEC("syscall")
int insn_v4(struct insn_args *args)
{
	int x;

	signed_ops(args);
	byte_swaps((unsigned long)args->a);
	atomics(args->b);

	/* 32-bit compares become JMP32 instructions. */
	x = args->c;
	if (x > 10)
		jmp32_res = 1;
	else if (x < -10)
		jmp32_res = 2;
	else if ((unsigned int)x >= 5)
		jmp32_res = 3;
	else if (x & 0x4)
		jmp32_res = 4;
	else
		jmp32_res = 5;

	ldsx8_res += g_sc;
	ldsx16_res += g_ss;
	ldsx32_res += g_si;
	return 0;
}

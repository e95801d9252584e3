/* Target of the USDT tests: probes of every argument kind with values from <seed>.
 *
 * Built from this file, usdt_sema.c and the shared library usdt_lib.c.
 * usage: usdt_target <seed> [wait]
 * With "wait" it blocks reading one byte from stdin so the test can attach first.
 * tests/usdt/expected.py computes the same values from the seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/sdt.h>

long pybpf_usdt_lib_fire(long seed);

void fire_sema(long seed); /* usdt_sema.c */

int pybpf_glob_int = -5;
unsigned long pybpf_glob_ulong = 0;
int pybpf_array[16];

/* constants: the assembler sees immediates ($42) */
__attribute__((noinline)) void fire_consts(void)
{
	STAP_PROBE4(pybpf, consts, 42, -7, (long)-1234567890123L, (unsigned char)200);
}

/* registers: every size, signed and unsigned, passed in registers at -O2 */
__attribute__((noinline)) void fire_regs(signed char a, unsigned char b, short c, unsigned short d,
					 int e, unsigned int f, long g, unsigned long h)
{
	STAP_PROBE8(pybpf, regs, a, b, c, d, e, f, g, h);
	__asm__ volatile("" ::: "memory");
}

/* memory operands: at -O0 every local lives on the stack (-4@-20(%rbp)) */
__attribute__((noinline, optimize("O0"))) void fire_mem(long seed)
{
	int i = (int)(-seed * 1000);
	unsigned short u = (unsigned short)(60000 + seed);
	long l = -seed * 100000000000L;
	signed char c = (signed char)(-seed);

	STAP_PROBE4(pybpf, mem, i, u, l, c);
}

/* globals: rip-relative symbol operands (-4@pybpf_glob_int(%rip)) */
__attribute__((noinline)) void fire_glob(void)
{
	STAP_PROBE2(pybpf, glob, pybpf_glob_int, pybpf_glob_ulong);
}

/* scale-index-base memory operands (-4@(%rax,%rdx,4)) */
__attribute__((noinline)) void fire_sib(int *arr, long idx)
{
	STAP_PROBE1(pybpf, sib, arr[idx]);
}

/* one probe name at two sites with different argument locations */
__attribute__((noinline)) void fire_twice(long seed)
{
	STAP_PROBE2(pybpf, twice, 1, seed);
	__asm__ volatile("" ::: "memory");
	STAP_PROBE2(pybpf, twice, 2, seed + 1);
}

int main(int argc, char **argv)
{
	long seed = argc > 1 ? atol(argv[1]) : 1;
	char ch;

	if (argc > 2 && read(0, &ch, 1) < 0)
		return 1;
	pybpf_glob_int = (int)(-seed * 77);
	pybpf_glob_ulong = 0xfedcba9876543210UL + (unsigned long)seed;
	for (int k = 0; k < 16; k++)
		pybpf_array[k] = -(k + 1) * (int)seed;

	fire_consts();
	fire_regs((signed char)(-seed), (unsigned char)(0xf0 + seed), (short)(-300 * seed),
		  (unsigned short)(0xff00 + seed), (int)(-70000 * seed), 0xfffff000u + (unsigned)seed,
		  -seed * 10000000000L, 0xf000000000000000UL + (unsigned long)seed);
	fire_mem(seed);
	fire_glob();
	fire_sib(pybpf_array, seed % 16);
	fire_sema(seed);
	fire_twice(seed);
	printf("%ld\n", pybpf_usdt_lib_fire(seed));
	return 0;
}

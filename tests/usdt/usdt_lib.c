/* Shared library of the USDT tests: a probe inside a .so (attached by path, with or without pid). */
#include <sys/sdt.h>

__attribute__((noinline)) long pybpf_usdt_lib_fire(long seed)
{
	long x = seed * 5 + 1;
	int y = (int)(-seed * 9);

	STAP_PROBE2(pybpf_lib, libprobe, x, y);
	__asm__ volatile("" ::: "memory");
	return x + y;
}

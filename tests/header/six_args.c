/* uprobe target of the compat-header test: a six-argument function.
 * usage: six_args  (waits for a byte on stdin, then calls it once) */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) long pybpf_six(long a, long b, long c, long d, long e, long f)
{
	__asm__ volatile("" ::: "memory");
	return a + b + c + d + e + f;
}

int main(void)
{
	char c;

	if (read(0, &c, 1) < 0)
		return 1;
	printf("%ld\n", pybpf_six(11, 2, 3, 4, 5, 66));
	return 0;
}

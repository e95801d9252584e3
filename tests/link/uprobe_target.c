/* Target of the uprobe tests: known functions called a known number of times.
 *
 * usage: uprobe_target <calls> [wait]
 * With "wait" it first blocks reading one byte from stdin, so the test can attach
 * (to this pid) before the calls happen. Prints the sum so nothing is optimised out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) long pybpf_target_add(long a, long b)
{
	__asm__ volatile("" ::: "memory");
	return a + b;
}

__attribute__((noinline)) long pybpf_target_mul(long a, long b)
{
	__asm__ volatile("" ::: "memory");
	return a * b;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 1;
	long sum = 0;
	char c;

	if (argc > 2 && read(0, &c, 1) < 0)
		return 1;
	for (long i = 0; i < calls; i++) {
		sum += pybpf_target_add(i, 1);
		if (i % 2 == 0)
			sum += pybpf_target_mul(i, 2);
		getpid();
	}
	printf("%ld\n", sum);
	return 0;
}

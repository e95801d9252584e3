/* What bounds a ring buffer consumer end to end: in one process, samples alternate
 * between libbpf's ring_buffer__consume and an instant consumer that reads nothing
 * and publishes consumer_pos = producer_pos (the least work any consumer can do).
 * Both are driven exactly as bench/c/ringcons.c drives libbpf: getppid() calls emit
 * PER_CALL records each (bench/bpf/ringprod.bpf.c) until the ring is half full, then
 * one drain. Alternating per sample in one process pairs the two under the same
 * machine load. Prints one JSON line: per-sample CPU times of both consumers.
 * usage: ringbound OBJ PER_CALL ROUND TOTAL REPS
 */
#include "common.h"
#include <bpf/bpf.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned long long got;

static int on_ring(void *ctx, void *data, size_t size)
{
	got++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 6)
		die("usage: ringbound OBJ PER_CALL ROUND TOTAL REPS");
	unsigned per_call = atoi(argv[2]), round = atoi(argv[3]);
	unsigned long long total = atoll(argv[4]);
	int reps = atoi(argv[5]);
	unsigned tgid = getpid();
	struct bpf_object *obj;
	struct bpf_link *link;
	struct bpf_map *map;
	struct ring_buffer *rb;
	unsigned long *cons, *prod, size;
	char *area;
	int fd;

	pin_cpu(0);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		die("open");
	set_rodata(obj, "target_tgid", &tgid, 4);
	set_rodata(obj, "per_call", &per_call, 4);
	if (bpf_object__load(obj))
		die("load");
	link = bpf_program__attach(bpf_object__find_program_by_name(obj, "produce"));
	if (!link)
		die("attach");
	map = bpf_object__find_map_by_name(obj, "rb");
	fd = bpf_map__fd(map);
	size = bpf_map__max_entries(map);
	rb = ring_buffer__new(fd, on_ring, NULL, NULL);
	/* the instant consumer's own mapping: consumer page, producer page, data */
	cons = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	area = mmap(NULL, 4096 + 2 * size, PROT_READ, MAP_SHARED, fd, 4096);
	if (!rb || cons == MAP_FAILED || area == MAP_FAILED)
		die("ring mapping");
	prod = (unsigned long *)area;

	printf("{\"samples\": [");
	for (int r = -1; r < reps; r++) { /* r == -1: warm-up */
		for (int instant = 0; instant < 2; instant++) {
			unsigned long long want = r < 0 ? round : total;
			double c0, cc = 0;

			got = 0;
			c0 = cpu_s();
			while (got < want) {
				double ca;

				for (unsigned c = 0; c < round / per_call; c++)
					syscall(SYS_getppid);
				ca = cpu_s();
				if (instant) {
					unsigned long c = *cons;
					unsigned long p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
					/* every record has one size: one header gives the stride */
					unsigned len = *(unsigned *)(area + 4096 + (c & (size - 1)));
					unsigned long stride = ((len & ((1u << 30) - 1)) + 8 + 7) & ~7UL;

					got += (p - c) / stride;
					__atomic_store_n(cons, p, __ATOMIC_RELEASE);
				} else {
					ring_buffer__consume(rb);
				}
				cc += cpu_s() - ca;
			}
			if (r >= 0)
				printf("%s{\"consumer\": \"%s\", \"events\": %llu, \"cpu_seconds\": %.9f, "
				       "\"consume_cpu_seconds\": %.9f}",
				       r || instant ? ", " : "", instant ? "instant" : "libbpf", got,
				       cpu_s() - c0, cc);
		}
	}
	printf("]}\n");
	ring_buffer__free(rb);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}

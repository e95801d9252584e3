/* libbpf reference consumer of the ring/perf buffer benchmark.
 * usage: ringcons OBJ ring|perf PER_CALL ROUND TOTAL REPS PAGES
 * Each sample triggers getppid() ROUND/PER_CALL times (the producer emits PER_CALL
 * records per call), drains with ring_buffer__consume / perf_buffer__consume, and
 * repeats until TOTAL records; prints one JSON line with per-sample timings.
 */
#include "common.h"
#include <bpf/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned long long got, lost, bytes;

static int on_ring(void *ctx, void *data, size_t size)
{
	got++;
	bytes += size;
	return 0;
}

static void on_perf(void *ctx, int cpu, void *data, __u32 size)
{
	got++;
	bytes += size;
}

static void on_lost(void *ctx, int cpu, __u64 n)
{
	lost += n;
}

int main(int argc, char **argv)
{
	if (argc != 8)
		die("usage: ringcons OBJ ring|perf PER_CALL ROUND TOTAL REPS PAGES");
	const char *path = argv[1];
	int perf = strcmp(argv[2], "perf") == 0;
	unsigned per_call = atoi(argv[3]), round = atoi(argv[4]);
	unsigned long long total = atoll(argv[5]);
	int reps = atoi(argv[6]), pages = atoi(argv[7]);
	unsigned tgid = getpid();
	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	struct bpf_object *obj;
	struct bpf_link *link;
	struct bpf_program *prog;

	pin_cpu(0);
	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		die("open");
	set_rodata(obj, "target_tgid", &tgid, 4);
	set_rodata(obj, "per_call", &per_call, 4);
	if (bpf_object__load(obj))
		die("load");
	prog = bpf_object__find_program_by_name(obj, "produce");
	link = bpf_program__attach(prog);
	if (!link)
		die("attach");
	if (perf)
		pb = perf_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "pb")), pages,
				      on_perf, on_lost, NULL, NULL);
	else
		rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "rb")), on_ring,
				      NULL, NULL);
	if (!pb && !rb)
		die("buffer");
	printf("{\"samples\": [");
	for (int r = -1; r < reps; r++) { /* r == -1: warm-up */
		unsigned long long want = r < 0 ? round : total;
		double t0, t1, tc = 0, c0, c1, cc = 0;

		got = 0;
		t0 = now_s();
		c0 = cpu_s();
		while (got < want) {
			double a, ca;

			for (unsigned c = 0; c < round / per_call; c++)
				syscall(SYS_getppid);
			a = now_s();
			ca = cpu_s();
			if (perf)
				perf_buffer__consume(pb);
			else
				ring_buffer__consume(rb);
			tc += now_s() - a;
			cc += cpu_s() - ca;
		}
		t1 = now_s();
		c1 = cpu_s();
		if (r >= 0)
			printf("%s{\"events\": %llu, \"seconds\": %.9f, \"consume_seconds\": %.9f, "
			       "\"cpu_seconds\": %.9f, \"consume_cpu_seconds\": %.9f}",
			       r ? ", " : "", got, t1 - t0, tc, c1 - c0, cc);
	}
	printf("], \"lost\": %llu}\n", lost);
	ring_buffer__free(rb);
	perf_buffer__free(pb);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}

/* libbpf reference of the map benchmark on a u32 -> u64 hash map of N slots:
 * fill/lookup/dump one element per syscall (skipped with "batch"), then two rounds of
 * fill/dump/delete by batches of BATCH (the pybpf worker's Python-int and numpy rounds);
 * prints one JSON line of CPU seconds (user + system) per operation.
 * The batch dump writes into separate arrays, so the batch delete removes the keys in
 * insertion order, as the pybpf worker does: deleting them in the dump's (bucket) order
 * is about 25% cheaper in the kernel, which is not the same work.
 * usage: maps N BATCH [batch]
 */
#include "common.h"
#include <bpf/bpf.h>
#include <errno.h>
#include <unistd.h>

struct round {
	double fill, dump, delete;
	__u64 sum;
};

/* One batch round on the empty map: fill keys/vals, dump into dkeys/dvals, delete keys. */
static void batch_round(int fd, __u32 n, __u32 batch, __u32 *keys, __u64 *vals, __u32 *dkeys,
			__u64 *dvals, struct round *r)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 got = 0, out_batch;
	void *in = NULL;
	double t;
	int err;

	t = cpu_s();
	for (__u32 i = 0; i < n; i += batch) {
		__u32 c = n - i < batch ? n - i : batch;

		if (bpf_map_update_batch(fd, keys + i, vals + i, &c, &opts))
			die("update_batch");
	}
	r->fill = cpu_s() - t;

	t = cpu_s();
	for (;;) {
		__u32 c = batch;

		if (n - got < c)
			c = n - got ? n - got : 1;
		err = bpf_map_lookup_batch(fd, in, &out_batch, dkeys + got, dvals + got, &c, &opts);
		if (err && errno != ENOENT)
			die("lookup_batch");
		got += c;
		in = &out_batch;
		if (err || got >= n)
			break;
	}
	r->dump = cpu_s() - t;
	if (got != n)
		die("batch dump missed elements");
	r->sum = 0;
	for (__u32 i = 0; i < n; i++)
		r->sum += dvals[i];

	t = cpu_s();
	for (__u32 i = 0; i < n; i += batch) {
		__u32 c = n - i < batch ? n - i : batch;

		if (bpf_map_delete_batch(fd, keys + i, &c, &opts))
			die("delete_batch");
	}
	r->delete = cpu_s() - t;
	if (bpf_map_get_next_key(fd, NULL, dkeys) == 0)
		die("batch delete left elements behind");
}

int main(int argc, char **argv)
{
	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "batch")))
		die("usage: maps N BATCH [batch]");
	__u32 n = atoi(argv[1]), batch = atoi(argv[2]);
	__u32 *keys = calloc(n, sizeof(__u32)), key, next;
	__u64 *vals = calloc(n, sizeof(__u64)), val, sum = 0;
	/* the batch dump's output, touched before any clock starts (as keys/vals are) */
	__u32 *dkeys = calloc(n, sizeof(__u32));
	__u64 *dvals = calloc(n, sizeof(__u64));
	double t, r_fill = 0, r_lookup = 0, r_dump = 0;
	struct round b1, b2;
	int fd, err;
	__u32 got = 0;

	pin_cpu(0);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "h", 4, 8, n > 1000000 ? n : 1000000, NULL);
	if (fd < 0)
		die("bpf_map_create");
	for (__u32 i = 0; i < n; i++)
		keys[i] = i, vals[i] = i * 3ULL;
	memset(dkeys, 0xff, n * sizeof(__u32));
	memset(dvals, 0xff, n * sizeof(__u64));

	if (argc == 3) {
		t = cpu_s();
		for (__u32 i = 0; i < n; i++)
			if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY))
				die("update");
		r_fill = cpu_s() - t;

		t = cpu_s();
		for (__u32 i = 0; i < n; i++) {
			if (bpf_map_lookup_elem(fd, &keys[i], &val))
				die("lookup");
			sum += val;
		}
		r_lookup = cpu_s() - t;

		t = cpu_s();
		err = bpf_map_get_next_key(fd, NULL, &key);
		while (!err) {
			if (bpf_map_lookup_elem(fd, &key, &val) == 0)
				got++;
			err = bpf_map_get_next_key(fd, &key, &next);
			key = next;
		}
		r_dump = cpu_s() - t;
		if (got != n)
			die("per-element dump missed elements");

		for (__u32 i = 0; i < n; i++)
			bpf_map_delete_elem(fd, &keys[i]);
	}

	batch_round(fd, n, batch, keys, vals, dkeys, dvals, &b1);
	batch_round(fd, n, batch, keys, vals, dkeys, dvals, &b2);
	if (argc == 4)
		sum = b1.sum;
	if (b1.sum != sum || b2.sum != sum)
		die("batch dump returned wrong values");
	close(fd);
	printf("{\"n\": %u, \"fill\": %.9f, \"lookup\": %.9f, \"dump\": %.9f, \"fill_batch\": %.9f, "
	       "\"dump_batch\": %.9f, \"delete_batch\": %.9f, \"fill_batch2\": %.9f, "
	       "\"dump_batch2\": %.9f, \"delete_batch2\": %.9f, \"checksum\": %llu}\n",
	       n, r_fill, r_lookup, r_dump, b1.fill, b1.dump, b1.delete, b2.fill, b2.dump, b2.delete,
	       (unsigned long long)sum);
	return 0;
}

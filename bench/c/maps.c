/* libbpf reference of the map benchmark on a u32 -> u64 hash map of N slots:
 * fill/lookup/dump one element per syscall, then fill/dump/delete by batches of
 * BATCH; prints one JSON line of seconds per operation.
 * usage: maps N BATCH
 */
#include "common.h"
#include <bpf/bpf.h>
#include <errno.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		die("usage: maps N BATCH");
	__u32 n = atoi(argv[1]), batch = atoi(argv[2]);
	__u32 *keys = calloc(n, sizeof(__u32)), key, next, out_batch;
	__u64 *vals = calloc(n, sizeof(__u64)), val, sum = 0;
	double t, r_fill, r_lookup, r_dump, b_fill, b_dump, b_delete;
	int fd, err;
	__u32 got = 0;

	pin_cpu(0);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "h", 4, 8, n > 1000000 ? n : 1000000, NULL);
	if (fd < 0)
		die("bpf_map_create");
	for (__u32 i = 0; i < n; i++)
		keys[i] = i, vals[i] = i * 3ULL;

	t = now_s();
	for (__u32 i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY))
			die("update");
	r_fill = now_s() - t;

	t = now_s();
	for (__u32 i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], &val))
			die("lookup");
		sum += val;
	}
	r_lookup = now_s() - t;

	t = now_s();
	err = bpf_map_get_next_key(fd, NULL, &key);
	while (!err) {
		if (bpf_map_lookup_elem(fd, &key, &val) == 0)
			got++;
		err = bpf_map_get_next_key(fd, &key, &next);
		key = next;
	}
	r_dump = now_s() - t;
	if (got != n)
		die("per-element dump missed elements");

	for (__u32 i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &keys[i]);

	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	t = now_s();
	for (__u32 i = 0; i < n; i += batch) {
		__u32 c = n - i < batch ? n - i : batch;

		if (bpf_map_update_batch(fd, keys + i, vals + i, &c, &opts))
			die("update_batch");
	}
	b_fill = now_s() - t;

	t = now_s();
	got = 0;
	{
		void *in = NULL;

		for (;;) {
			__u32 c = batch;

			if (n - got < c)
				c = n - got ? n - got : 1;
			err = bpf_map_lookup_batch(fd, in, &out_batch, keys + got, vals + got, &c, &opts);
			if (err && errno != ENOENT)
				die("lookup_batch");
			got += c;
			in = &out_batch;
			if (err || got >= n)
				break;
		}
	}
	b_dump = now_s() - t;
	if (got != n)
		die("batch dump missed elements");

	t = now_s();
	for (__u32 i = 0; i < n; i += batch) {
		__u32 c = n - i < batch ? n - i : batch;

		if (bpf_map_delete_batch(fd, keys + i, &c, &opts))
			die("delete_batch");
	}
	b_delete = now_s() - t;
	close(fd);
	printf("{\"n\": %u, \"fill\": %.9f, \"lookup\": %.9f, \"dump\": %.9f, \"fill_batch\": %.9f, "
	       "\"dump_batch\": %.9f, \"delete_batch\": %.9f, \"checksum\": %llu}\n",
	       n, r_fill, r_lookup, r_dump, b_fill, b_dump, b_delete, (unsigned long long)sum);
	return 0;
}

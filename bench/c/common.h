/* Shared helpers of the libbpf C reference programs: clock, CPU pinning, setting a
 * const volatile (.rodata) variable by name through the object's BTF before load.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* CPU time of this process (user + system), immune to waiting for a busy CPU. */
static inline double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static inline void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static inline void die(const char *what)
{
	fprintf(stderr, "error: %s\n", what);
	exit(1);
}

/* Write `size` bytes of `val` into the .rodata variable `name` (before load). */
static inline void set_rodata(struct bpf_object *obj, const char *name, const void *val, size_t size)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map = NULL, *m;
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	size_t map_sz;
	char *data;
	int id, i;

	bpf_object__for_each_map(m, obj) {
		const char *mn = bpf_map__name(m);
		size_t n = strlen(mn);

		if (n >= 7 && strcmp(mn + n - 7, ".rodata") == 0)
			map = m;
	}
	if (!map || !btf)
		die("object has no .rodata");
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		die("no .rodata DATASEC");
	sec = btf__type_by_id(btf, id);
	data = (char *)bpf_map__initial_value(map, &map_sz);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name) == 0) {
			if (vs->offset + size > map_sz)
				die("rodata variable out of range");
			memcpy(data + vs->offset, val, size);
			return;
		}
	}
	die("rodata variable not found");
}

#endif

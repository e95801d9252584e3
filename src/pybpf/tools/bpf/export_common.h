/* Shared by the `pybpf export` example objects (export_*.bpf.c). */
#ifndef __EXPORT_COMMON_H
#define __EXPORT_COMMON_H

#define TASK_COMM_LEN 16
/* highest log2 slot kept: larger values land in this slot (2^40 ns is ~18 minutes) */
#define MAX_SLOT 40

/* bcc's log2 slot: 0 for 0, floor(log2(v)) + 1 otherwise, so slot s holds v < 2^s */
static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	while (v && slot < 64) {
		v >>= 1;
		slot++;
	}
	return slot > MAX_SLOT ? MAX_SLOT : slot;
}

/* add `delta` under `key`, creating the element when it is missing */
static __always_inline void add_u64(void *map, const void *key, __u64 delta)
{
	__u64 *value = bpf_map_lookup_elem(map, key);

	if (value) {
		__sync_fetch_and_add(value, delta);
		return;
	}
	if (bpf_map_update_elem(map, key, &delta, BPF_NOEXIST) == 0)
		return;
	/* another CPU created it first: add there */
	value = bpf_map_lookup_elem(map, key);
	if (value)
		__sync_fetch_and_add(value, delta);
}

#endif

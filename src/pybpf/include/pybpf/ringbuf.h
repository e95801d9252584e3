/* SPDX-License-Identifier: MIT */
/* pybpf/ringbuf.h: part of pybpf.h (see there).
 *
 * Ring-buffer writes that count what they lose. A failed bpf_ringbuf_reserve() or
 * bpf_ringbuf_output() (the ring is full) is otherwise invisible to the reader; these
 * wrappers add one to a per-CPU counter kept in the map `pybpf_rb_lost` under the
 * ring's name, and pybpf's RingBuffer.lost (and `pybpf run`, the tools) read it.
 *
 *   struct event *e = pybpf_ringbuf_reserve(events, sizeof(*e));
 *   if (!e)
 *           return 0;              // counted as lost
 *   ...
 *   bpf_ringbuf_submit(e, 0);
 *
 *   pybpf_ringbuf_output(events, &ev, sizeof(ev), 0);   // same for the copy form
 *   pybpf_ringbuf_lost(events);    // count a loss of your own (e.g. a dynptr reserve)
 *
 * `ring` is the bare name of the BPF_MAP_TYPE_RINGBUF map (not a pointer), at most
 * 15 characters (the kernel's map-name length): the name is the counter's key. The
 * counter map is a weak global, so libbpf and bpftool load such objects too, and
 * objects linked together share one counter map. Objects that include pybpf.h but
 * never call these macros carry the small map all the same; define
 * PYBPF_RB_LOST_STATIC before including pybpf.h to make it static instead (the
 * compiler then drops it when unused; pybpf loads static maps, libbpf does not).
 */
#ifndef __PYBPF_RINGBUF_H
#define __PYBPF_RINGBUF_H

/* Up to this many ring buffers of one object can have a loss counter. */
#ifndef PYBPF_RB_LOST_RINGS
#define PYBPF_RB_LOST_RINGS 16
#endif

/* Key of pybpf_rb_lost: the ring map's name, NUL-padded. */
struct pybpf_rb_name {
	char name[16];
};

#ifdef PYBPF_RB_LOST_STATIC
#define PYBPF__RB_LOST_LINKAGE static
#else
#define PYBPF__RB_LOST_LINKAGE __attribute__((weak))
#endif

PYBPF__RB_LOST_LINKAGE struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PYBPF_RB_LOST_RINGS);
	__type(key, struct pybpf_rb_name);
	__type(value, __u64);
} pybpf_rb_lost SEC(".maps");

/* Add one to the loss counter of the ring whose name is `key`. The first loss on a
 * CPU inserts the entry; if another CPU inserted it first, the lookup finds it. */
static __always_inline void pybpf__rb_count_lost(struct pybpf_rb_name *key)
{
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&pybpf_rb_lost, key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return;
	}
	if (bpf_map_update_elem(&pybpf_rb_lost, key, &one, BPF_NOEXIST) == 0)
		return;
	count = bpf_map_lookup_elem(&pybpf_rb_lost, key);
	if (count)
		__sync_fetch_and_add(count, 1);
}

/* Byte i of the string literal s (0 past its end), and bytes 8w..8w+7 as a little-endian
 * u64: constants, so the key is built with two immediate stores and the object keeps no
 * copy of the name in a .rodata section. */
#define PYBPF__CH(s, i) ((__u64)(unsigned char)(sizeof(s) > (i) ? (s)[(i) < sizeof(s) ? (i) : 0] : 0))
#define PYBPF__W(s, w)                                                         \
	(PYBPF__CH(s, 8 * (w)) | PYBPF__CH(s, 8 * (w) + 1) << 8 |              \
	 PYBPF__CH(s, 8 * (w) + 2) << 16 | PYBPF__CH(s, 8 * (w) + 3) << 24 |   \
	 PYBPF__CH(s, 8 * (w) + 4) << 32 | PYBPF__CH(s, 8 * (w) + 5) << 40 |   \
	 PYBPF__CH(s, 8 * (w) + 6) << 48 | PYBPF__CH(s, 8 * (w) + 7) << 56)

/* Count one lost record of ring buffer map `ring`. */
#define pybpf_ringbuf_lost(ring)                                               \
	({                                                                     \
		_Static_assert(sizeof(#ring) <= 16,                            \
			       "pybpf_ringbuf_*: ring buffer map name longer than 15 characters"); \
		union {                                                        \
			struct pybpf_rb_name key;                              \
			__u64 w[2];                                            \
		} __pybpf_k;                                                   \
		__pybpf_k.w[0] = PYBPF__W(#ring, 0);                           \
		__pybpf_k.w[1] = PYBPF__W(#ring, 1);                           \
		pybpf__rb_count_lost(&__pybpf_k.key);                          \
	})

/* bpf_ringbuf_reserve(&ring, size, 0) that counts a failure as a lost record. */
#define pybpf_ringbuf_reserve(ring, size)                                      \
	({                                                                     \
		void *__pybpf_rec = bpf_ringbuf_reserve(&(ring), (size), 0);   \
		if (!__pybpf_rec)                                              \
			pybpf_ringbuf_lost(ring);                              \
		__pybpf_rec;                                                   \
	})

/* bpf_ringbuf_output(&ring, data, size, flags) that counts a failure as lost. */
#define pybpf_ringbuf_output(ring, data, size, flags)                          \
	({                                                                     \
		long __pybpf_err = bpf_ringbuf_output(&(ring), (data), (size), (flags)); \
		if (__pybpf_err)                                               \
			pybpf_ringbuf_lost(ring);                              \
		__pybpf_err;                                                   \
	})

#endif /* __PYBPF_RINGBUF_H */

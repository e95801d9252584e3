/* SPDX-License-Identifier: MIT */
/*
 * pybpf/hist.h: part of pybpf.h (see there). Histograms in BPF maps.
 *
 *   log2(v), log2l(v)      floor(log2(v)) of a 32/64-bit value, 0 for 0 and 1
 *                          (libbpf-tools' bits.bpf.h semantics)
 *   bpf_log2(v), bpf_log2l(v)
 *                          BCC's names: floor(log2(v)) + 1 for v > 0, i.e. the
 *                          log2 *slot* of v (BCC does the same)
 *   PYBPF_LOG2_SLOT(v)     that slot for any v: 0 holds 0, s >= 1 holds
 *                          [2^(s-1), 2^s - 1]; at most PYBPF_LOG2_SLOTS - 1
 *   PYBPF_LINEAR_SLOT(v, step, nslots)
 *                          v / step, clamped to the last of nslots slots
 *   PYBPF_HIST(name, nslots)
 *                          an array map u32 slot -> u64 count, the shape
 *                          Map.print_log2_hist() and print_linear_hist() read
 *   pybpf_hist_add(&map, slot, n)
 *                          add n to a slot's count (atomically)
 *
 * Example (a log2 histogram of write sizes, printed by Map.print_log2_hist):
 *
 *     PYBPF_HIST(sizes, PYBPF_LOG2_SLOTS);
 *     SEC("tracepoint/syscalls/sys_enter_write")
 *     int on_write(struct trace_event_raw_sys_enter *ctx)
 *     {
 *         pybpf_hist_add(&sizes, PYBPF_LOG2_SLOT(ctx->args[2]), 1);
 *         return 0;
 *     }
 *
 * Define PYBPF_NO_LOG2 before including pybpf.h to keep your own log2/log2l.
 */
#ifndef __PYBPF_HIST_H
#define __PYBPF_HIST_H

/* floor(log2(v)) by binary search over the bit positions; 0 for v <= 1. */
static inline __attribute__((always_inline)) unsigned int pybpf_log2(unsigned int v)
{
	unsigned int r = 0, shift;

	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3;   v >>= shift; r |= shift;
	shift = (v > 0xF) << 2;    v >>= shift; r |= shift;
	shift = (v > 0x3) << 1;    v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static inline __attribute__((always_inline)) unsigned int pybpf_log2l(unsigned long long v)
{
	unsigned int hi = v >> 32;

	return hi ? pybpf_log2(hi) + 32 : pybpf_log2((unsigned int)v);
}

#ifndef PYBPF_NO_LOG2
/* Macros rather than functions: clang knows log2() as a math builtin. */
#define log2(v) pybpf_log2(v)
#define log2l(v) pybpf_log2l(v)
#endif

#ifndef bpf_log2
#define bpf_log2(v) ((v) ? pybpf_log2(v) + 1 : 0)
#endif
#ifndef bpf_log2l
#define bpf_log2l(v) ((v) ? pybpf_log2l(v) + 1 : 0)
#endif

/* 65 slots hold any u64: slot 0 is the value 0, slot 64 is [2^63, 2^64 - 1]. */
#define PYBPF_LOG2_SLOTS 65

#define PYBPF_LOG2_SLOT(v)                                                      \
	({                                                                      \
		unsigned long long __pybpf_v = (v);                             \
		__pybpf_v ? pybpf_log2l(__pybpf_v) + 1 : 0;                     \
	})

#define PYBPF_LINEAR_SLOT(v, step, nslots)                                      \
	({                                                                      \
		unsigned long long __pybpf_s = (unsigned long long)(v) / (step); \
		(unsigned int)(__pybpf_s < (nslots) ? __pybpf_s : (nslots) - 1); \
	})

#define PYBPF_HIST(name, nslots)                                                \
	struct {                                                                \
		__uint(type, BPF_MAP_TYPE_ARRAY);                               \
		__uint(max_entries, nslots);                                    \
		__type(key, __u32);                                             \
		__type(value, __u64);                                           \
	} name SEC(".maps")

#define pybpf_hist_add(map, slot, n)                                            \
	({                                                                      \
		__u32 __pybpf_slot = (slot);                                    \
		__u64 *__pybpf_cnt = bpf_map_lookup_elem((map), &__pybpf_slot); \
		if (__pybpf_cnt)                                                \
			__sync_fetch_and_add(__pybpf_cnt, (n));                 \
	})

#endif /* __PYBPF_HIST_H */

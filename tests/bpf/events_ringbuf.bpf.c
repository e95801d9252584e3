// Ring-buffer producers for pybpf's event tests: a syscall program run with
// BPF_PROG_TEST_RUN emits args->count records with bpf_loop, of a fixed 16 or 128
// bytes or of varying size, into one of three rings, optionally discarding some.
// It writes back how many it produced, discarded and failed to reserve (ring full).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MODE_16 0
#define MODE_128 1
#define MODE_VAR 2

struct event {
	__u64 seq;
	__u32 cpu;
	__u32 tag;
};

struct big_event {
	__u64 seq;
	__u64 words[15];
};

struct args {
	__u64 count;		/* records to emit */
	__u64 mode;		/* MODE_* */
	__u64 ring;		/* 0: rb, 1: rb2, 2: small */
	__u64 discard_every;	/* discard records whose seq % discard_every == 0 (0: none) */
	__u64 tag;
	__u64 produced;		/* out: records submitted */
	__u64 discarded;	/* out: records discarded */
	__u64 failed;		/* out: reservations that failed (ring full) */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} rb2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} small SEC(".maps");

/* referenced so the record layouts are in the object's BTF (typed decoding) */
const struct event *unused_event __attribute__((unused));
const struct big_event *unused_big_event __attribute__((unused));

__u64 next_seq = 0;	/* sequence number of the next record, across runs */
__u64 failed_total = 0;	/* reservations that failed, across runs */

static void *pick(__u64 ring)
{
	if (ring == 1)
		return &rb2;
	if (ring == 2)
		return &small;
	return &rb;
}

static int finish(struct args *a, void *rec, __u64 seq)
{
	if (a->discard_every && seq % a->discard_every == 0) {
		bpf_ringbuf_discard(rec, 0);
		a->discarded++;
	} else {
		bpf_ringbuf_submit(rec, 0);
		a->produced++;
	}
	return 0;
}

static int reserve_failed(struct args *a)
{
	a->failed++;
	__sync_fetch_and_add(&failed_total, 1);
	return 0;
}

static long emit(__u64 i, struct args *a)
{
	__u64 seq = next_seq++;

	if (a->mode == MODE_16) {
		struct event *e = bpf_ringbuf_reserve(pick(a->ring), sizeof(*e), 0);

		if (!e)
			return reserve_failed(a);
		e->seq = seq;
		e->cpu = bpf_get_smp_processor_id();
		e->tag = a->tag;
		return finish(a, e, seq);
	}
	if (a->mode == MODE_128) {
		struct big_event *e = bpf_ringbuf_reserve(pick(a->ring), sizeof(*e), 0);

		if (!e)
			return reserve_failed(a);
		e->seq = seq;
		for (int j = 0; j < 15; j++)
			e->words[j] = seq * 31 + j;
		return finish(a, e, seq);
	}
	/* MODE_VAR: 8 to 128 bytes, words[j] = seq * 31 + j after the seq */
	struct big_event buf = {};
	__u64 words = 1 + seq % 16;

	buf.seq = seq;
	for (int j = 0; j < 15; j++)
		buf.words[j] = seq * 31 + j;
	if (bpf_ringbuf_output(pick(a->ring), &buf, words * 8, 0))
		return reserve_failed(a);
	a->produced++;
	return 0;
}

SEC("syscall")
int produce(struct args *ctx)
{
	struct args a = *ctx;

	a.produced = 0;
	a.discarded = 0;
	a.failed = 0;
	bpf_loop(a.count, emit, &a, 0);
	ctx->produced = a.produced;
	ctx->discarded = a.discarded;
	ctx->failed = a.failed;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

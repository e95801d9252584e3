/* BCC variant of bench/bpf/ringprod.bpf.c, identical logic in BCC's dialect:
 * on each getppid() of TARGET_TGID emit PER_CALL records of REC_SIZE bytes into a
 * ring buffer (or, with PERF defined, a perf buffer through a per-CPU scratch slot).
 * TARGET_TGID, PER_CALL, REC_SIZE, RING_PAGES are -D'd by ring_bcc.py.
 */
#define MAX_PER_CALL 4096

struct rec {
	u64 seq;
	u32 pid;
	u32 cpu;
#if REC_SIZE > 16
	u8 data[REC_SIZE - 16];
#endif
};

#ifdef PERF
BPF_PERF_OUTPUT(pb);
BPF_PERCPU_ARRAY(scratch, struct rec, 1);
#else
BPF_RINGBUF_OUTPUT(rb, RING_PAGES);
#endif

TRACEPOINT_PROBE(syscalls, sys_enter_getppid)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 n = PER_CALL;
	u32 cpu = bpf_get_smp_processor_id();

	if ((id >> 32) != TARGET_TGID)
		return 0;
#ifdef PERF
	u32 zero = 0;
	struct rec *r = scratch.lookup(&zero);

	if (!r)
		return 0;
	for (u32 i = 0; i < MAX_PER_CALL; i++) {
		if (i >= n)
			break;
		r->seq = i;
		r->pid = (u32)id;
		r->cpu = cpu;
		pb.perf_submit(args, r, sizeof(*r));
	}
#else
	for (u32 i = 0; i < MAX_PER_CALL; i++) {
		if (i >= n)
			break;
		struct rec *r = rb.ringbuf_reserve(sizeof(struct rec));

		if (!r)
			break;
		r->seq = i;
		r->pid = (u32)id;
		r->cpu = cpu;
		rb.ringbuf_submit(r, 0);
	}
#endif
	return 0;
}

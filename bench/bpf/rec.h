/* The record every producer emits: REC_SIZE bytes (16..1024), set at compile time. */
#ifndef BENCH_REC_H
#define BENCH_REC_H

#ifndef REC_SIZE
#define REC_SIZE 16
#endif
#define MAX_PER_CALL 4096 /* bound of the producer loop (the verifier needs one) */

struct rec {
	__u64 seq;
	__u32 pid;
	__u32 cpu;
#if REC_SIZE > 16
	__u8 data[REC_SIZE - 16];
#endif
};

#endif

/* `pybpf export biolatency`: block I/O latency (issue to completion) as log2
 * histograms (ns) by device and operation, from the block_rq_issue/complete
 * tracepoints (tp_btf: the raw arguments carry the struct request). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "export_common.h"

char LICENSE[] SEC("license") = "GPL";

#define MINORBITS 20
#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1 << REQ_OP_BITS) - 1)

struct bio_key {
	__u32 dev;	/* major << 20 | minor, as the kernel's MKDEV */
	__u32 op;	/* enum req_op */
	__u32 slot;
};

struct bio_sum_key {
	__u32 dev;
	__u32 op;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);	/* struct request * */
	__type(value, __u64);	/* issue time, ns */
} issued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct bio_key);
	__type(value, __u64);
} bio_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct bio_sum_key);
	__type(value, __u64);
} bio_latency_sum SEC(".maps");

SEC("tp_btf/block_rq_issue")
int BPF_PROG(rq_issue, struct request *rq)
{
	__u64 key = (__u64)rq;
	__u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&issued, &key, &ts, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 rqkey = (__u64)rq;
	struct bio_key key = {};
	struct bio_sum_key skey = {};
	struct gendisk *disk;
	__u64 *tsp, delta;

	tsp = bpf_map_lookup_elem(&issued, &rqkey);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&issued, &rqkey);
	disk = BPF_CORE_READ(rq, q, disk);
	if (disk)
		key.dev = ((__u32)BPF_CORE_READ(disk, major) << MINORBITS) |
			  (__u32)BPF_CORE_READ(disk, first_minor);
	key.op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
	key.slot = log2_slot(delta);
	skey.dev = key.dev;
	skey.op = key.op;
	add_u64(&bio_latency, &key, 1);
	add_u64(&bio_latency_sum, &skey, delta);
	return 0;
}

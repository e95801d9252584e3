// SPDX-License-Identifier: GPL-2.0
/* The hash map of the map benchmark: u32 -> u64, 1,000,000 slots (no programs). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1000000);
	__type(key, __u32);
	__type(value, __u64);
} h SEC(".maps");

char LICENSE[] SEC("license") = "GPL";

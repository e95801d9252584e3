/* SPDX-License-Identifier: MIT */
/*
 * pybpf.h: BPF-side helpers shipped with pybpf.
 *
 * `pybpf build` puts this directory on clang's include path; other build systems
 * get it from `pybpf include-dir`. Include it after vmlinux.h (or the uapi
 * headers) and <bpf/bpf_helpers.h>.
 */
#ifndef __PYBPF_H
#define __PYBPF_H

#include "pybpf/compat.h"  /* newer libbpf macros when the system headers are older */
#include "pybpf/hist.h"    /* log2 and histogram slot helpers */
#include "pybpf/event.h"   /* PYBPF_EVENT: keep a type in BTF for the reader */
#include "pybpf/ringbuf.h" /* ring-buffer reserve with a loss counter */

#endif /* __PYBPF_H */

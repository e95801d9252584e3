/* SPDX-License-Identifier: MIT */
/* pybpf/ringbuf.h: part of pybpf.h (see there). */
#ifndef __PYBPF_RINGBUF_H
#define __PYBPF_RINGBUF_H

#endif

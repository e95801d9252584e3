/* SPDX-License-Identifier: MIT */
/* pybpf/hist.h: part of pybpf.h (see there). */
#ifndef __PYBPF_HIST_H
#define __PYBPF_HIST_H

#endif

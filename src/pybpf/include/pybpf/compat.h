/* SPDX-License-Identifier: MIT */
/* pybpf/compat.h: part of pybpf.h (see there). */
#ifndef __PYBPF_COMPAT_H
#define __PYBPF_COMPAT_H

#endif

/* SPDX-License-Identifier: MIT */
/* pybpf/event.h: part of pybpf.h (see there). */
#ifndef __PYBPF_EVENT_H
#define __PYBPF_EVENT_H

#endif

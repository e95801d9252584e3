/* SPDX-License-Identifier: MIT */
/*
 * pybpf/event.h: part of pybpf.h (see there).
 *
 * PYBPF_EVENT(struct event);
 *
 * Keeps a type in the object's BTF so Python can decode records by name
 * (obj.ringbuf("rb", cb, event_type="event"), numpy_dtype="event", ...).
 * clang writes BTF only for types that a global variable, a map or a function
 * signature uses; a struct that is only filled through bpf_ringbuf_reserve() or
 * sent with bpf_perf_event_output() is used by local variables alone and is
 * dropped. The macro declares an unused global pointer to the type (8 bytes of
 * .bss, never read), which is enough for clang to describe the type.
 * Use it once per type, at file scope.
 */
#ifndef __PYBPF_EVENT_H
#define __PYBPF_EVENT_H

#define __PYBPF_EV_CAT2(a, b) a##b
#define __PYBPF_EV_CAT(a, b) __PYBPF_EV_CAT2(a, b)

#define PYBPF_EVENT(type)                                                       \
	type *__PYBPF_EV_CAT(__pybpf_event_, __COUNTER__)                      \
		__attribute__((unused))

#endif /* __PYBPF_EVENT_H */

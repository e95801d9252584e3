/* SPDX-License-Identifier: MIT */
/*
 * pybpf/compat.h: part of pybpf.h (see there).
 *
 * Macros that newer libbpf headers (1.2 .. 1.6) provide, for systems whose
 * <bpf/...> headers are older (Debian 12 ships libbpf 1.1.2). `pybpf build`
 * force-includes this file (clang -include pybpf/compat.h), so a source written
 * against current libbpf compiles unchanged; other build systems add
 *
 *     -I$(pybpf include-dir) -include pybpf/compat.h
 *
 * Everything here is a macro or a declaration that is harmless when unused, and
 * each block is skipped when the libbpf headers on the include path are new
 * enough to define it themselves (read from <bpf/libbpf_version.h>), so the same
 * flags work with old and new headers alike. Because it may be read before any
 * other header, nothing here depends on vmlinux.h or <linux/types.h>.
 */
#ifndef __PYBPF_COMPAT_H
#define __PYBPF_COMPAT_H

#if defined(__has_include)
#if __has_include(<bpf/libbpf_version.h>)
#include <bpf/libbpf_version.h>
#endif
#endif

/* libbpf older than MAJOR.MINOR (no version header: older than 0.7, so "old"). */
#if defined(LIBBPF_MAJOR_VERSION) && defined(LIBBPF_MINOR_VERSION)
#define __PYBPF_LIBBPF_BEFORE(major, minor)                                     \
	(LIBBPF_MAJOR_VERSION < (major) ||                                      \
	 (LIBBPF_MAJOR_VERSION == (major) && LIBBPF_MINOR_VERSION < (minor)))
#else
#define __PYBPF_LIBBPF_BEFORE(major, minor) 1
#endif

#define __PYBPF_WEAK_KSYM __attribute__((weak, section(".ksyms")))

/* ---- bpf_helpers.h ------------------------------------------------------ */

#ifndef likely
#define likely(x) (__builtin_expect(!!(x), 1))
#endif
#ifndef unlikely
#define unlikely(x) (__builtin_expect(!!(x), 0))
#endif

#if __PYBPF_LIBBPF_BEFORE(1, 2)

/* Kernel pointers the verifier must not trust (was plain __kptr before 1.2). */
#ifndef __kptr_untrusted
#define __kptr_untrusted __attribute__((btf_type_tag("kptr_untrusted")))
#endif

/*
 * bpf_ksym_exists(sym): true when the weak __ksym extern `sym` was found in the
 * running kernel (libbpf/pybpf resolve a missing weak ksym to 0). The static
 * assertion catches a non-weak extern, which would always be "present".
 */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({                                                 \
	_Static_assert(!__builtin_constant_p(!!(sym)),                          \
		       #sym " must be declared __weak for bpf_ksym_exists()");  \
	!!(sym);                                                                \
})
#endif

/*
 * Open-coded iterators (kernel 6.4+): bpf_for(i, lo, hi), bpf_repeat(n) and
 * bpf_for_each(type, cur, args...). They call the bpf_iter_<type>_{new,next,
 * destroy} kfuncs and let the cleanup attribute destroy the iterator on every
 * exit from the loop, so `break` and `return` inside the body are fine.
 */
struct bpf_iter_num;
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __PYBPF_WEAK_KSYM;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __PYBPF_WEAK_KSYM;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __PYBPF_WEAK_KSYM;

#ifndef bpf_for_each
#define bpf_for_each(type, cur, args...)                                        \
	for (struct bpf_iter_##type __pybpf_it                                 \
		     __attribute__((aligned(8), cleanup(bpf_iter_##type##_destroy))), \
	     *__pybpf_once __attribute__((unused)) =                            \
		     (bpf_iter_##type##_new(&__pybpf_it, ##args),               \
		      /* names the destructor so clang emits its BTF */         \
		      (void)bpf_iter_##type##_destroy, (void *)0);              \
	     ((cur) = bpf_iter_##type##_next(&__pybpf_it));)
#endif

#ifndef bpf_for
#define bpf_for(i, start, end)                                                  \
	for (struct bpf_iter_num __pybpf_it                                     \
		     __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \
	     *__pybpf_once __attribute__((unused)) =                            \
		     (bpf_iter_num_new(&__pybpf_it, (start), (end)),            \
		      (void)bpf_iter_num_destroy, (void *)0);                   \
	     ({                                                                 \
		     int *__pybpf_cur = bpf_iter_num_next(&__pybpf_it);         \
		     /* the range check proves start <= i < end to the verifier */ \
		     __pybpf_cur && ((i) = *__pybpf_cur, (i) >= (start) && (i) < (end)); \
	     });)
#endif

#ifndef bpf_repeat
#define bpf_repeat(N)                                                           \
	for (struct bpf_iter_num __pybpf_it                                     \
		     __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \
	     *__pybpf_once __attribute__((unused)) =                            \
		     (bpf_iter_num_new(&__pybpf_it, 0, (N)),                    \
		      (void)bpf_iter_num_destroy, (void *)0);                   \
	     bpf_iter_num_next(&__pybpf_it);)
#endif

#endif /* libbpf < 1.2 */

#if __PYBPF_LIBBPF_BEFORE(1, 3)
#ifndef __percpu_kptr
#define __percpu_kptr __attribute__((btf_type_tag("percpu_kptr")))
#endif
#endif

#if __PYBPF_LIBBPF_BEFORE(1, 4)
/* Global-function argument annotations read by the verifier (kernel 6.8+). */
#ifndef __arg_ctx
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
#endif
#ifndef __arg_nonnull
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
#endif
#ifndef __arg_nullable
#define __arg_nullable __attribute__((btf_decl_tag("arg:nullable")))
#endif
#ifndef __arg_trusted
#define __arg_trusted __attribute__((btf_decl_tag("arg:trusted")))
#endif
#ifndef __arg_arena
#define __arg_arena __attribute__((btf_decl_tag("arg:arena")))
#endif
/* __ulong(name, value): a 64-bit map definition field (e.g. map_extra). */
#ifndef __ulong
#define __PYBPF_CAT2(a, b) a##b
#define __PYBPF_CAT(a, b) __PYBPF_CAT2(a, b)
#define __ulong(name, val) enum { __PYBPF_CAT(__pybpf_ulong_, __COUNTER__) = (val) } name
#endif
#endif

#if __PYBPF_LIBBPF_BEFORE(1, 5)
#ifndef __uptr
#define __uptr __attribute__((btf_type_tag("uptr")))
#endif
#endif

#if __PYBPF_LIBBPF_BEFORE(1, 6)
#ifndef __arg_untrusted
#define __arg_untrusted __attribute__((btf_decl_tag("arg:untrusted")))
#endif
#endif

/* ---- bpf_core_read.h ---------------------------------------------------- */

#if __PYBPF_LIBBPF_BEFORE(1, 4)
/*
 * bpf_core_cast(ptr, type): view a kernel pointer as `type *` for direct
 * (read-only, fault-safe) loads, through the bpf_rdonly_cast kfunc and the
 * running kernel's BTF id of `type`.
 */
extern void *bpf_rdonly_cast(const void *obj, unsigned int btf_id) __PYBPF_WEAK_KSYM;
#ifndef bpf_core_cast
#define bpf_core_cast(ptr, type)                                                \
	((typeof(type) *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))
#endif
#endif

/* ---- bpf_tracing.h ------------------------------------------------------ */

#if __PYBPF_LIBBPF_BEFORE(1, 2)

/* uprobes take the same pt_regs as kprobes: the names say what is attached. */
#ifndef BPF_UPROBE
#define BPF_UPROBE(name, args...) BPF_KPROBE(name, ##args)
#endif
#ifndef BPF_URETPROBE
#define BPF_URETPROBE(name, args...) BPF_KRETPROBE(name, ##args)
#endif

/* The 6th argument register (and the syscall variants), for BPF_KPROBE and
 * BPF_KSYSCALL/BPF_UPROBE with six arguments. */
#if defined(__TARGET_ARCH_x86) || defined(__TARGET_ARCH_arm64)
#if defined(__TARGET_ARCH_x86)
#define __PT_PARM6_REG r9
#define __PT_PARM6_SYSCALL_REG r9
#else
#define __PT_PARM6_REG regs[5]
#define __PT_PARM6_SYSCALL_REG regs[5]
#endif
#ifndef PT_REGS_PARM6
#define PT_REGS_PARM6(x) (__PT_REGS_CAST(x)->__PT_PARM6_REG)
#define PT_REGS_PARM6_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM6_REG)
#endif
#ifndef PT_REGS_PARM6_SYSCALL
#define PT_REGS_PARM6_SYSCALL(x) (__PT_REGS_CAST(x)->__PT_PARM6_SYSCALL_REG)
#define PT_REGS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ(__PT_REGS_CAST(x), __PT_PARM6_SYSCALL_REG)
#endif
#define ___bpf_kprobe_args6(x, args...) ___bpf_kprobe_args5(args), (void *)PT_REGS_PARM6(ctx)
#define ___bpf_syscall_args6(x, args...) ___bpf_syscall_args5(args), (void *)PT_REGS_PARM6_SYSCALL(regs)
#define ___bpf_syswrap_args6(x, args...) ___bpf_syswrap_args5(args), (void *)PT_REGS_PARM6_CORE_SYSCALL(regs)
#endif

#endif /* libbpf < 1.2 */

#endif /* __PYBPF_COMPAT_H */

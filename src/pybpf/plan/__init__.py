"""The planner: an ObjectSpec and the target kernel's facts in, a plain-data load plan out.

Pure (no syscalls): ``linker`` joins a program with its subprograms, ``btf_sanitize``
rewrites BTF for the kernel's known kinds.
"""

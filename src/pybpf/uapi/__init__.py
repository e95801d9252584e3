"""The kernel's BPF UAPI numbers as Python enums (pure data, no syscalls).

``pybpf.uapi.enums`` is generated from the running kernel's BTF by
``python -m pybpf.uapi.gen``; flags that the UAPI headers spell as ``#define``
are a hand-written part of that generator.
"""

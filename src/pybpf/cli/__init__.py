"""The ``pybpf`` command line (bpftool-shaped)."""

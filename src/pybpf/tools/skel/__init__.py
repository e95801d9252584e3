"""Generated skeletons of the tools' objects (``make -C src/pybpf/tools/bpf``): do not edit.

Each ``<tool>_skel.py`` embeds ``objects/<tool>.bpf.o`` and gives the tool typed maps,
programs, ``.rodata`` settings and event dataclasses.
"""

"""USDT probes: ``notes`` reads ``.note.stapsdt`` and argument specs (no syscalls),
``attach`` attaches a program to every site of a probe through uprobes."""

"""Facts about the running kernel: symbols (``ksyms``), config (``kconfig``),
tracefs entries (``tracefs``) and the objects loaded now (``introspect``)."""

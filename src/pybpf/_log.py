"""pybpf's verbose output goes through :mod:`logging`, to the logger ``"pybpf"``.

``verbose=True`` (``pybpf.open(..., verbose=True)``, ``pybpf run -v``) logs at INFO and,
when the application configured no logging, shows it on stderr as ``pybpf: ...``;
otherwise the same messages go out at DEBUG, for an application that asks for them::

    logging.getLogger("pybpf").setLevel(logging.DEBUG)

:mod:`logging` itself is imported only when someone can be listening (``import
pybpf`` and the load path stay light).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["debug"]

_INFO, _DEBUG = 20, 10  # logging.INFO, logging.DEBUG


def debug(verbose: bool, msg: str, *args: object) -> None:
    """Log ``msg % args`` at INFO when ``verbose``, else at DEBUG (if anyone listens)."""
    if not verbose and "logging" not in sys.modules:
        return  # nobody has configured logging: nothing could show a DEBUG record
    log = _logger(verbose)
    level = _INFO if verbose else _DEBUG
    if log.isEnabledFor(level):
        log.log(level, msg, *args)


def _logger(verbose: bool) -> Any:
    import logging

    log = logging.getLogger("pybpf")
    if verbose and not log.handlers and not logging.getLogger().handlers:
        # no logging configured: verbose output goes to stderr, as it always did
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("pybpf: %(message)s"))
        log.addHandler(handler)
        if log.level == logging.NOTSET:
            log.setLevel(logging.INFO)
    return log

"""Verifier-log summaries: :func:`pybpf.errors.summarize_log` under its old name.

The one summariser lives in :mod:`pybpf.errors` so that ``sys`` (which raises
:class:`~pybpf.errors.VerifierError`), the loader and the CLI share it without an
import cycle.
"""

from __future__ import annotations

from pybpf.errors import LogSummary, summarize_log

__all__ = ["LogSummary", "summarize_log"]

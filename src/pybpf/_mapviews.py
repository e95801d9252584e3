"""Map methods that present a map's contents: BCC-style histograms, numpy, pandas.

A mixin of :class:`pybpf.Map`, kept apart so the core map code stays about the
kernel interface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

__all__ = ["MapViews"]


class MapViews:
    """Histograms, arrays and dataframes of a map (mixed into :class:`pybpf.Map`)."""

    def print_log2_hist(
        self,
        val_type: str = "value",
        section_header: str = "Bucket ptr",
        section_print_fn: Callable[[Any], Any] | None = None,
        bucket_fn: Callable[[Any], Any] | None = None,
        strip_leading_zero: bool | None = None,
        bucket_sort_fn: Callable[[list[Any]], list[Any]] | None = None,
        *,
        file: IO[str] | None = None,
    ) -> None:
        """Print the map as a log2 histogram, exactly as BCC's ``print_log2_hist``.

        Keys are log2 slots (``PYBPF_LOG2_SLOT(v)`` in ``<pybpf.h>``, BCC's
        ``bpf_log2l``), or structs whose first field is a bucket and second a slot:
        then one histogram per bucket follows a ``section_header = bucket`` line.
        ``val_type`` labels the value column. Output goes to stdout (or ``file``).

        Example::

            obj.maps["dist"].print_log2_hist("usecs")
        """
        from pybpf.histogram import print_hist

        print_hist(
            self._hist_items(),
            val_type=val_type,
            section_header=section_header,
            section_print_fn=section_print_fn,
            bucket_fn=bucket_fn,
            strip_leading_zero=strip_leading_zero,
            bucket_sort_fn=bucket_sort_fn,
            file=file,
        )

    def print_linear_hist(
        self,
        val_type: str = "value",
        section_header: str = "Bucket ptr",
        section_print_fn: Callable[[Any], Any] | None = None,
        bucket_fn: Callable[[Any], Any] | None = None,
        strip_leading_zero: bool | None = None,
        bucket_sort_fn: Callable[[list[Any]], list[Any]] | None = None,
        *,
        file: IO[str] | None = None,
    ) -> None:
        """Print the map as a linear histogram, exactly as BCC's ``print_linear_hist``.

        Keys are indexes (``PYBPF_LINEAR_SLOT(v, step, n)``) or ``{bucket, index}``
        structs; the parameters are those of :meth:`print_log2_hist`.

        Example::

            obj.maps["by_cpu"].print_linear_hist("cpu")
        """
        from pybpf.histogram import print_hist

        print_hist(
            self._hist_items(),
            linear=True,
            val_type=val_type,
            section_header=section_header,
            section_print_fn=section_print_fn,
            bucket_fn=bucket_fn,
            strip_leading_zero=strip_leading_zero,
            bucket_sort_fn=bucket_sort_fn,
            file=file,
        )

    def rich_log2_hist(self, val_type: str = "value", **kwargs: Any) -> Any:
        """The log2 histogram as a rich renderable (tables with bars) for terminals.

        Takes :meth:`print_log2_hist`'s keyword arguments (but ``file``).

        Example::

            rich.print(obj.maps["dist"].rich_log2_hist("usecs"))
        """
        from pybpf.histogram import rich_hist

        return rich_hist(self._hist_items(), val_type=val_type, **kwargs)

    def rich_linear_hist(self, val_type: str = "value", **kwargs: Any) -> Any:
        """The linear histogram as a rich renderable (see :meth:`rich_log2_hist`)."""
        from pybpf.histogram import rich_hist

        return rich_hist(self._hist_items(), linear=True, val_type=val_type, **kwargs)

    def _hist_items(self) -> list[tuple[Any, Any]]:
        return list(self._self().items())

    def _self(self) -> Any:
        return self

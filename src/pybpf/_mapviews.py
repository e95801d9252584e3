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

    def to_numpy(self) -> Any:
        """Every entry as one numpy structured array with fields ``key`` and ``value``.

        Key and value dtypes come from BTF (structs become nested fields; without
        BTF, raw ``V<size>`` bytes). Per-CPU values have shape ``(ncpus,)``.

        Example::

            arr = obj.maps["counts"].to_numpy()
            top = arr[arr["value"].argsort()[::-1][:10]]
        """
        import numpy as np

        m = self._self()
        kdt, vdt = self._np_dtypes()
        pairs = list(m.items_raw())
        dt = np.dtype([("key", kdt), ("value", vdt)])
        buf = b"".join(k + v for k, v in pairs)
        return np.frombuffer(buf, dtype=dt, count=len(pairs)).copy()

    def to_pandas(self) -> Any:
        """Every entry as a pandas DataFrame: key field(s) then value field(s) as columns.

        Scalar keys and values are the columns ``key`` and ``value``; struct fields
        are columns by name. Per-CPU maps give one row per key and CPU (column ``cpu``).

        Example::

            df = obj.maps["counts"].to_pandas().sort_values("value", ascending=False)
        """
        import numpy as np

        from pybpf.frames import dataframe

        arr = self.to_numpy()
        keys, vals = arr["key"], arr["value"]
        if vals.ndim > 1:  # per-CPU: one row per (key, cpu)
            ncpu = vals.shape[1]
            keys = np.repeat(keys, ncpu)
            cpu = np.tile(np.arange(ncpu), len(arr))
            vals = vals.reshape((-1, *vals.shape[2:]))
            return dataframe([(keys, "key"), (cpu, "cpu"), (vals, "value")])
        return dataframe([(keys, "key"), (vals, "value")])

    def _np_dtypes(self) -> tuple[Any, Any]:
        import numpy as np

        from pybpf.btf.layout import numpy_dtype

        m = self._self()

        def one(type_id: int, size: int) -> Any:
            if m.btf is not None and type_id:
                dt = np.dtype(numpy_dtype(m.btf, type_id))
                if dt.itemsize == size:
                    return dt
            return np.dtype(f"V{size}")

        kdt = one(m.key_type_id, m.key_size)
        vsize = m.value_size
        if m.percpu:
            elem = one(m.value_type_id, vsize)
            stride = (vsize + 7) // 8 * 8
            if stride != elem.itemsize:  # each CPU's value is padded to 8 bytes
                spec: Any
                if elem.names is None:
                    spec = {"names": ["value"], "formats": [elem], "itemsize": stride}
                else:
                    spec = {
                        "names": list(elem.names),
                        "formats": [elem.fields[n][0] for n in elem.names],
                        "offsets": [elem.fields[n][1] for n in elem.names],
                        "itemsize": stride,
                    }
                elem = np.dtype(spec)
            from pybpf.sys.cpus import num_possible_cpus

            return kdt, np.dtype((elem, (num_possible_cpus(),)))
        return kdt, one(m.value_type_id, vsize)

    def _hist_items(self) -> list[tuple[Any, Any]]:
        return list(self._self().items())

    def _self(self) -> Any:
        return self

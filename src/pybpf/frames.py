"""numpy arrays and pandas dataframes of BPF data (maps, ring-buffer batches).

pandas is optional (``pip install pybpf[pandas]``); numpy likewise (``[numpy]``).
Struct fields become columns, nested structs ``outer.inner``; ``char[N]`` fields
become ``str`` (UTF-8, undecodable bytes replaced); other arrays stay one column of
numpy arrays. Every column is a copy, safe to keep after the source is released.
"""

from __future__ import annotations

from typing import Any

from pybpf.errors import BPFError

__all__ = ["columns", "dataframe", "require_pandas"]


def require_pandas() -> Any:
    """The pandas module, or a clear error saying how to install it."""
    import importlib

    try:
        pandas = importlib.import_module("pandas")
    except ImportError as exc:
        raise BPFError(
            "dataframes need pandas: pip install 'pybpf[pandas]' (or pip install pandas)"
        ) from exc
    return pandas


def columns(arr: Any, prefix: str = "", name: str = "value") -> dict[str, Any]:
    """Flatten structured numpy array ``arr`` into ``{column: 1-D data}`` (copies).

    A non-structured ``arr`` is one column called ``prefix + name``.
    """
    out: dict[str, Any] = {}
    dt = arr.dtype
    if dt.names is None:
        if dt.kind == "S":
            out[prefix + name] = [b.decode("utf-8", "replace") for b in arr.tolist()]
        elif arr.ndim > 1:
            out[prefix + name] = list(arr.copy())
        else:
            out[prefix + name] = arr.copy()
        return out
    for field in dt.names:
        sub = arr[field]
        if sub.dtype.names is not None:
            out.update(columns(sub, f"{prefix}{field}.", name))
        else:
            out.update(columns(sub, prefix, field))
    return out


def dataframe(parts: list[tuple[Any, str]]) -> Any:
    """A DataFrame of the columns of each ``(array, default_name)`` in ``parts``;
    a column name taken by an earlier part gets the later part's name as prefix."""
    pd = require_pandas()
    cols: dict[str, Any] = {}
    for arr, default in parts:
        for col, data in columns(arr, name=default).items():
            cols[col if col not in cols else f"{default}.{col}"] = data
    return pd.DataFrame(cols)

"""Find a BTF type by the name a user writes (``"event"``, ``"struct event"``).

Shared by everything that takes a type by name (ring/perf buffer decoders, numpy
dtypes, dataframes) so the missing-type error is the same everywhere and says how
to keep a type in BTF.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pybpf.errors import BTFError

if TYPE_CHECKING:
    from pybpf.btf.reader import BTF

__all__ = ["KEEP_TYPE_HINT", "numpy_dtype_by_name", "type_id_by_name"]

KEEP_TYPE_HINT = (
    "clang writes BTF only for types a global, a map or a function signature uses; "
    "keep it with PYBPF_EVENT({decl}); at file scope (#include <pybpf.h>)"
)


def type_id_by_name(btf: BTF, name: str, *, owner: str = "") -> int:
    """The id of type ``name`` in ``btf``: a struct or union first, then any kind.

    ``"struct event"``, ``"union u"`` and ``"event"`` all work. A missing name raises
    :class:`~pybpf.errors.BTFError` whose hint names ``PYBPF_EVENT``.

    Example::

        tid = type_id_by_name(obj.spec.btf, "event")
    """
    from pybpf.btf import Kind

    text = name.strip()
    keyword = ""
    for kw in ("struct ", "union ", "enum "):
        if text.startswith(kw):
            keyword, text = kw.strip(), text[len(kw) :].strip()
    kinds = {"struct": [Kind.STRUCT], "union": [Kind.UNION], "enum": [Kind.ENUM, Kind.ENUM64]}
    for kind in kinds.get(keyword, [Kind.STRUCT, Kind.UNION]):
        ids = btf.find(text, kind)
        if ids:
            return int(ids[0])
    ids = btf.find(text) if not keyword else []
    if ids:
        return int(ids[0])
    decl = f"{keyword or 'struct'} {text}"
    where = f" of {owner!r}" if owner else ""
    hint = KEEP_TYPE_HINT.format(decl=decl)
    raise BTFError(f"no type {name!r} in the BTF{where}: {hint}", hint=hint)


def numpy_dtype_by_name(spec: Any, btf: BTF | None, *, owner: str = "") -> Any:
    """``spec`` as a numpy dtype: a BTF type name (``"event"``, ``"struct event"``)
    when ``btf`` has it, else anything numpy accepts (``"<u4"``, a dtype, ...).

    A name that is neither raises :class:`~pybpf.errors.BTFError` naming
    ``PYBPF_EVENT``.

    Example::

        dt = numpy_dtype_by_name("event", obj.spec.btf)   # fields of struct event
    """
    import numpy as np

    from pybpf.btf.layout import numpy_dtype

    if not isinstance(spec, str):
        return np.dtype(spec)
    if btf is not None:
        try:
            return numpy_dtype(btf, type_id_by_name(btf, spec, owner=owner))
        except BTFError as exc:
            missing: BTFError | None = exc
    else:
        missing = None
    try:
        return np.dtype(spec)
    except TypeError:
        pass
    if missing is not None:
        raise missing
    raise BTFError(
        f"numpy_dtype {spec!r} is neither a numpy type nor known without BTF: read the ring "
        "through obj.ringbuf(...) (which knows the object's BTF) or pass a numpy dtype"
    )

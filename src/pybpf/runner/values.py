"""Text to Python values by BTF type (``--set VAR=VALUE``, ``map update KEY VALUE``) and
decoded values to JSON-able data.

Integers take any Python literal base (``0x10``), enums a name or a number, ``char[N]``
a string, bools ``true``/``false``/``1``/``0``, floats a decimal; structs and arrays a
JSON object or list whose items follow the same rules.
"""

from __future__ import annotations

import json
from typing import Any

from pybpf.btf import BTF
from pybpf.btf.layout import EnumInt, Record
from pybpf.btf.types import Array, Enum, Enum64, Float, Int, Ptr, Struct, Union
from pybpf.errors import BPFError

__all__ = ["parse_value", "to_jsonable"]


def _parse_int(text: str, what: str) -> int:
    try:
        return int(text.strip(), 0)
    except ValueError as exc:
        raise BPFError(f"{what}: {text!r} is not an integer") from exc


def _from_json(value: Any, btf: BTF, type_id: int, what: str) -> Any:
    """Coerce a JSON-decoded item to the Python value the type's layout encodes."""
    if isinstance(value, str):
        return parse_value(value, btf, type_id, what)
    t = btf.type(btf.resolve(type_id))
    if isinstance(t, Struct | Union):
        if not isinstance(value, dict):
            raise BPFError(f"{what}: want a JSON object for {btf.type_name(type_id)}")
        members = {m.name: m.type for m in t.members}
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k not in members:
                raise BPFError(f"{what}: {btf.type_name(type_id)} has no member {k!r}")
            out[k] = _from_json(v, btf, members[k], f"{what}.{k}")
        return out
    if isinstance(t, Array):
        if not isinstance(value, list):
            raise BPFError(f"{what}: want a JSON list for {btf.type_name(type_id)}")
        return [_from_json(v, btf, t.type, f"{what}[{i}]") for i, v in enumerate(value)]
    return value


def parse_value(text: str, btf: BTF | None, type_id: int, what: str = "value") -> Any:
    """The Python value ``text`` denotes for BTF type ``type_id`` (raw int without BTF)."""
    if btf is None or not type_id:
        return _parse_int(text, what)
    t = btf.type(btf.resolve(type_id))
    if isinstance(t, Int):
        if t.is_bool:
            low = text.strip().lower()
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            raise BPFError(f"{what}: {text!r} is not a boolean")
        return _parse_int(text, what)
    if isinstance(t, Ptr):
        return _parse_int(text, what)
    if isinstance(t, Enum | Enum64):
        for e in t.values:
            if e.name == text.strip():
                return int(e.value)
        return _parse_int(text, what)
    if isinstance(t, Float):
        try:
            return float(text)
        except ValueError as cause:
            raise BPFError(f"{what}: {text!r} is not a number") from cause
    if isinstance(t, Array):
        et = btf.type(btf.resolve(t.type))
        if isinstance(et, Int) and et.size == 1 and not text.lstrip().startswith("["):
            raw = text.encode()
            if len(raw) > t.nelems:
                raise BPFError(f"{what}: {text!r} is longer than char[{t.nelems}]")
            return raw
    if isinstance(t, Array | Struct | Union):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BPFError(
                f"{what}: {btf.type_name(type_id)} wants JSON ({exc.msg} at {exc.pos})"
            ) from exc
        return _from_json(data, btf, type_id, what)
    raise BPFError(f"{what}: cannot parse a value of type {btf.type_name(type_id)}")


def to_jsonable(value: Any) -> Any:
    """Decoded BTF values as JSON data: records become objects, C strings text."""
    if isinstance(value, Record):
        return {k: to_jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, EnumInt):
        return value.name if value.name is not None else int(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        text = raw.split(b"\0", 1)[0]
        try:
            s = text.decode()
        except UnicodeDecodeError:
            return raw.hex()
        return s if s.isprintable() else raw.hex()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return str(value)

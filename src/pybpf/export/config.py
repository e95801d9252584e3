"""``pybpf export``'s YAML configuration: parsed into dataclasses that remember the
line of every field, so that an error names the file, the line and the field.

The shape follows Cloudflare's ebpf_exporter (objects, counters, gauges, histograms,
labels with decoders), with label fields named after the BTF key's members::

    namespace: pybpf              # metric name prefix
    enable_stats: true            # BPF_ENABLE_STATS while running (run_time_ns)
    objects:
      - name: exec_count          # the `object` label of the built-in metrics
        object: export_exec.bpf.o # path (relative to this file) or a shipped object
        rodata: {targ_uid: 1000}  # const volatile globals set before load
        attach:                   # optional: default attaches every program it can
          - {program: prog, interface: eth0, mode: skb}
        metrics:
          counters:
            - name: exec_total
              help: Execs by command name
              map: exec_count
              labels:
                - name: comm
                  decoders: [{name: string}]
          histograms:
            - name: latency_seconds
              map: lat
              bucket_type: log2      # or linear (bucket_width), exact (bucket_keys)
              bucket_field: slot
              bucket_min: 0
              bucket_max: 40
              bucket_multiplier: 1e-9
              sum_map: lat_sum       # exact _sum (else estimated from bucket bounds)

Histogram bucket keys (the ``bucket_field`` of the key, or the whole key when it is
a plain integer) and their Prometheus ``le`` bounds, all times ``bucket_multiplier``:

- ``log2``: key k counts values below 2^k (bcc's slot: 0 for 0, else
  floor(log2 v) + 1), so ``le`` = 2^k for k in bucket_min..bucket_max;
- ``linear``: key k counts values in [k*w, (k+1)*w), so ``le`` = (k+1)*w;
- ``exact``: the key is the value itself; ``le`` = each of ``bucket_keys``.

Keys below the first bucket count in it, keys past the last only in ``+Inf``. The
``_sum`` is exact from ``sum_map`` (a map of the same labels holding the total of
the values), or from the keys themselves for ``exact``; otherwise it is estimated
from the bucket bounds (3/4 of 2^k, or the middle of a linear bucket).

String values may use ``${VAR}`` and ``${VAR:-default}`` (environment).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pybpf.errors import ConfigError

__all__ = [
    "Attach",
    "Config",
    "DecoderSpec",
    "HistogramSpec",
    "LabelSpec",
    "MetricSpec",
    "ObjectConfig",
    "load_config",
    "parse_config",
]

DECODERS = frozenset(
    {
        "uint",
        "string",
        "hex",
        "ksym",
        "errno",
        "syscall",
        "cgroup",
        "inet",
        "majorminor",
        "ifname",
        "static_map",
        "regexp",
    }
)
BUCKET_TYPES = {"log2": "log2", "exp2": "log2", "linear": "linear", "exact": "exact",
                "fixed": "exact"}  # fmt: skip
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_ENV = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


@dataclass
class Where:
    """Where a value came from: the config file, its line and dotted field path."""

    file: str
    line: int
    field: str

    def error(self, message: str) -> ConfigError:
        """A :class:`ConfigError` at this place."""
        return ConfigError(message, file=self.file, line=self.line, field=self.field)


@dataclass
class DecoderSpec:
    """One label decoder: its name and options (static_map, regexps, allow_unknown)."""

    name: str
    where: Where
    static_map: dict[str, str] = field(default_factory=dict)
    regexps: list[str] = field(default_factory=list)
    allow_unknown: bool = False


@dataclass
class LabelSpec:
    """A label: its name, the key field it comes from ("" = the whole key) and decoders."""

    name: str
    field: str
    decoders: list[DecoderSpec]
    where: Where


@dataclass
class MetricSpec:
    """A counter or gauge read from one map."""

    kind: str  # "counter" | "gauge"
    name: str
    help: str
    map: str
    labels: list[LabelSpec]
    value_field: str
    where: Where
    map_where: Where


@dataclass
class HistogramSpec:
    """A histogram read from a bucket map (and optionally a sum map)."""

    name: str
    help: str
    map: str
    labels: list[LabelSpec]
    value_field: str
    bucket_type: str
    bucket_field: str
    bucket_min: int
    bucket_max: int
    bucket_multiplier: float
    bucket_width: float
    bucket_keys: list[float]
    sum_map: str
    where: Where
    map_where: Where
    kind: str = "histogram"


@dataclass
class Attach:
    """Attach one program explicitly (XDP needs an interface)."""

    program: str
    interface: str
    mode: str
    where: Where


@dataclass
class ObjectConfig:
    """One BPF object: where it is, its rodata, how to attach, which metrics it gives."""

    name: str
    path: Path
    rodata: dict[str, Any]
    attach: list[Attach] | None
    metrics: list[MetricSpec | HistogramSpec]
    where: Where
    #: where each rodata setting is (errors from the object point there)
    rodata_where: dict[str, Where] = field(default_factory=dict)
    #: the object's settings and file identity (SIGHUP: unchanged objects keep running)
    signature: str = ""


@dataclass
class Config:
    """A whole ``pybpf export`` configuration file."""

    file: str
    namespace: str
    enable_stats: bool
    objects: list[ObjectConfig]


# -- YAML with line numbers ----------------------------------------------------------------


class _Map(dict[str, Any]):
    line: int = 0
    lines: dict[str, int]


class _List(list[Any]):
    line: int = 0
    lines: list[int]


def _yaml_tree(text: str, file: str) -> Any:
    """Parse YAML keeping line numbers (1-based) on mappings and sequences."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", file=file, line=line) from exc
    if node is None:
        raise ConfigError("the file is empty", file=file, line=1)
    constructor = yaml.SafeLoader("")

    def convert(n: Any) -> Any:
        if isinstance(n, yaml.MappingNode):
            out = _Map()
            out.line = n.start_mark.line + 1
            out.lines = {}
            for k, v in n.value:
                key = str(constructor.construct_object(k, deep=True))
                if key in out:
                    raise ConfigError(
                        f"duplicate key {key!r}", file=file, line=k.start_mark.line + 1
                    )
                out[key] = convert(v)
                out.lines[key] = k.start_mark.line + 1
            return out
        if isinstance(n, yaml.SequenceNode):
            seq = _List(convert(v) for v in n.value)
            seq.line = n.start_mark.line + 1
            seq.lines = [v.start_mark.line + 1 for v in n.value]
            return seq
        value = constructor.construct_object(n, deep=True)
        if isinstance(value, str) and _ENV.search(value):
            value = _ENV.sub(
                lambda m: os.environ.get(m[1], m[2] if m[2] is not None else ""), value
            )
            try:  # a substituted number is a number again
                typed = yaml.safe_load(value)
            except yaml.YAMLError:
                typed = value
            if isinstance(typed, int | float | bool):
                value = typed
        return value

    return convert(node)


# -- validation ------------------------------------------------------------------------------


class _Ctx:
    """Typed access to one mapping of the tree, with errors at the right line."""

    def __init__(self, file: str, m: Any, path: str, line: int) -> None:
        self.file = file
        self.path = path
        self.line = line
        if not isinstance(m, _Map):
            raise ConfigError(
                f"expected a mapping, got {_kind(m)}", file=file, line=line, field=path
            )
        self.m = m
        self.used: set[str] = set()

    def at(self, key: str) -> Where:
        return Where(self.file, self.m.lines.get(key, self.m.line), self._sub(key))

    def _sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(
        self, key: str, types: Any, default: Any = ..., check: Callable[[Any], str] | None = None
    ) -> Any:
        self.used.add(key)
        if key not in self.m or self.m[key] is None:
            if default is ...:
                self._typo(key)
                raise ConfigError(
                    "is required", file=self.file, line=self.m.line, field=self._sub(key)
                )
            return default
        value = self.m[key]
        if types is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if types is float and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if not isinstance(value, types) or (isinstance(value, bool) and types in (int, float)):
            want = (
                types.__name__ if isinstance(types, type) else "/".join(t.__name__ for t in types)
            )
            raise self.at(key).error(f"expected {_pretty(want)}, got {_kind(value)}")
        if check is not None:
            problem = check(value)
            if problem:
                raise self.at(key).error(problem)
        return value

    def _typo(self, key: str) -> None:
        """A missing required ``key`` next to a misspelt one: point at the typo."""
        import difflib

        close = difflib.get_close_matches(key, [k for k in self.m if k != key], n=1)
        if close:
            raise self.at(close[0]).error(f"unknown field {close[0]!r}; did you mean {key!r}?")

    def child(self, key: str) -> _Ctx | None:
        self.used.add(key)
        if key not in self.m or self.m[key] is None:
            return None
        return _Ctx(self.file, self.m[key], self._sub(key), self.m.lines[key])

    def items(self, key: str, required: bool = False) -> list[tuple[_Ctx, int]]:
        """The mappings of a list under ``key`` with their indexes."""
        self.used.add(key)
        seq = self.m.get(key)
        if seq is None:
            if required:
                raise ConfigError(
                    "is required", file=self.file, line=self.m.line, field=self._sub(key)
                )
            return []
        if not isinstance(seq, _List):
            raise self.at(key).error(f"expected a list, got {_kind(seq)}")
        if required and not seq:
            raise self.at(key).error("must list at least one entry")
        return [
            (_Ctx(self.file, item, f"{self._sub(key)}[{i}]", seq.lines[i]), i)
            for i, item in enumerate(seq)
        ]

    def done(self) -> None:
        """Refuse unknown keys (typos would otherwise be silently ignored)."""
        for key in self.m:
            if key not in self.used:
                raise self.at(key).error(
                    f"unknown field {key!r}; known here: {', '.join(sorted(self.used))}"
                )


def _kind(v: Any) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return f"{type(v).__name__} {v!r}"


def _pretty(want: str) -> str:
    return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true/false",
            "_List": "a list", "_Map": "a mapping"}.get(want, want)  # fmt: skip


def _metric_name(v: str) -> str:
    return "" if _METRIC_NAME.match(v) else f"{v!r} is not a valid Prometheus metric name"


def _label_name(v: str) -> str:
    if not _LABEL_NAME.match(v) or v.startswith("__"):
        return f"{v!r} is not a valid Prometheus label name"
    return ""


def _decoder(c: _Ctx) -> DecoderSpec:
    name = c.get(
        "name",
        str,
        check=lambda v: (
            "" if v in DECODERS else f"unknown decoder {v!r}; known: {', '.join(sorted(DECODERS))}"
        ),
    )
    d = DecoderSpec(name=name, where=c.at("name"))
    if name == "static_map":
        sm = c.get("static_map", _Map)
        d.static_map = {str(k): str(v) for k, v in sm.items()}
        d.allow_unknown = c.get("allow_unknown", bool, False)
    elif name == "regexp":
        regs = c.get("regexps", _List)
        for i, r in enumerate(regs):
            try:
                re.compile(str(r))
            except re.error as exc:
                raise Where(c.file, regs.lines[i], f"{c.path}.regexps[{i}]").error(
                    f"bad regular expression {r!r}: {exc}"
                ) from exc
        d.regexps = [str(r) for r in regs]
    c.done()
    return d


def _labels(c: _Ctx) -> list[LabelSpec]:
    out: list[LabelSpec] = []
    seen: set[str] = set()
    for lc, _ in c.items("labels"):
        name = lc.get("name", str, check=_label_name)
        if name in seen:
            raise lc.at("name").error(f"label {name!r} appears twice")
        seen.add(name)
        fld = lc.get("field", str, name)
        decoders = [_decoder(dc) for dc, _ in lc.items("decoders")]
        out.append(LabelSpec(name=name, field=fld, decoders=decoders, where=lc.at("name")))
        lc.done()
    return out


def _metric(c: _Ctx, kind: str) -> MetricSpec:
    m = MetricSpec(
        kind=kind,
        name=c.get("name", str, check=_metric_name),
        help=c.get("help", str, ""),
        map=c.get("map", str),
        labels=_labels(c),
        value_field=c.get("value_field", str, ""),
        where=c.at("name"),
        map_where=c.at("map"),
    )
    m.help = m.help or m.name
    c.done()
    return m


def _histogram(c: _Ctx) -> HistogramSpec:
    btype = c.get(
        "bucket_type",
        str,
        check=lambda v: (
            "" if v in BUCKET_TYPES else f"unknown bucket_type {v!r}; use log2, linear or exact"
        ),
    )
    h = HistogramSpec(
        name=c.get("name", str, check=_metric_name),
        help=c.get("help", str, ""),
        map=c.get("map", str),
        labels=_labels(c),
        value_field=c.get("value_field", str, ""),
        bucket_type=BUCKET_TYPES[btype],
        bucket_field=c.get("bucket_field", str, "slot"),
        bucket_min=c.get("bucket_min", int, 0),
        bucket_max=c.get("bucket_max", int, 0),
        bucket_multiplier=c.get("bucket_multiplier", float, 1.0),
        bucket_width=c.get("bucket_width", float, 1.0),
        bucket_keys=[],
        sum_map=c.get("sum_map", str, ""),
        where=c.at("name"),
        map_where=c.at("map"),
    )
    h.help = h.help or h.name
    if h.bucket_type == "exact":
        keys = c.get("bucket_keys", _List)
        try:
            h.bucket_keys = sorted(float(k) for k in keys)
        except (TypeError, ValueError) as exc:
            raise c.at("bucket_keys").error("bucket_keys must be numbers") from exc
        if not h.bucket_keys:
            raise c.at("bucket_keys").error("bucket_keys must list at least one bucket")
    else:
        if "bucket_max" not in c.m:
            raise ConfigError(
                f"is required for bucket_type {btype}",
                file=c.file,
                line=c.m.line,
                field=f"{c.path}.bucket_max",
            )
        if h.bucket_max < h.bucket_min:
            raise c.at("bucket_max").error("bucket_max is below bucket_min")
        if h.bucket_max - h.bucket_min > 4096:
            raise c.at("bucket_max").error("more than 4096 buckets")
        if h.bucket_width <= 0:
            raise c.at("bucket_width").error("bucket_width must be positive")
    if h.bucket_multiplier <= 0:
        raise c.at("bucket_multiplier").error("bucket_multiplier must be positive")
    c.done()
    return h


def _object(c: _Ctx, base: Path) -> ObjectConfig:
    name = c.get("name", str, check=_label_name)
    rel = c.get("object", str)
    path = resolve_object(rel, base)
    if path is None:
        raise c.at("object").error(
            f"no object {rel!r} (looked in {base} and in the objects shipped with pybpf)"
        )
    rodata: dict[str, Any] = {}
    rodata_where: dict[str, Where] = {}
    rc = c.child("rodata")
    if rc is not None:
        for k, v in rc.m.items():
            if not isinstance(v, int | float | str | bool | list):
                raise rc.at(k).error(f"rodata values are numbers, strings or lists, not {_kind(v)}")
            rodata[k] = v
            rodata_where[k] = rc.at(k)
    attach: list[Attach] | None = None
    if "attach" in c.m:
        attach = []
        for ac, _ in c.items("attach", required=True):
            attach.append(
                Attach(
                    program=ac.get("program", str),
                    interface=ac.get("interface", str, ""),
                    mode=ac.get(
                        "mode",
                        str,
                        "auto",
                        check=lambda v: (
                            ""
                            if v in ("auto", "skb", "native", "driver", "hw")
                            else "mode is one of auto, skb, native, hw"
                        ),
                    ),
                    where=ac.at("program"),
                )
            )
            ac.done()
    metrics: list[MetricSpec | HistogramSpec] = []
    mc = c.child("metrics")
    if mc is None:
        raise ConfigError("is required", file=c.file, line=c.m.line, field=f"{c.path}.metrics")
    for cc, _ in mc.items("counters"):
        metrics.append(_metric(cc, "counter"))
    for gc, _ in mc.items("gauges"):
        metrics.append(_metric(gc, "gauge"))
    for hc, _ in mc.items("histograms"):
        metrics.append(_histogram(hc))
    mc.done()
    if not metrics:
        raise ConfigError(
            "lists no counters, gauges or histograms",
            file=c.file,
            line=mc.line,
            field=f"{c.path}.metrics",
        )
    c.done()
    obj = ObjectConfig(
        name=name,
        path=path,
        rodata=rodata,
        attach=attach,
        metrics=metrics,
        where=c.at("name"),
        rodata_where=rodata_where,
    )
    # the object's settings plus the object file's identity: SIGHUP keeps it when unchanged
    st = path.stat()
    obj.signature = json.dumps(
        [c.m, str(path), st.st_size, st.st_mtime_ns], sort_keys=True, default=str
    )
    return obj


def shipped_objects_dir() -> Path:
    """Where pybpf's prebuilt example objects live."""
    return Path(__file__).resolve().parent.parent / "tools" / "objects"


def resolve_object(rel: str, base: Path) -> Path | None:
    """``rel`` relative to the config's directory, else among the shipped objects."""
    p = Path(rel)
    for cand in (p if p.is_absolute() else base / p, shipped_objects_dir() / p.name):
        if cand.is_file():
            return cand
    return None


def parse_config(text: str, file: str = "<config>") -> Config:
    """Parse and validate a configuration (raises :class:`ConfigError`).

    Example: ``parse_config(open("exec.yaml").read(), "exec.yaml").objects[0].name``
    """
    tree = _yaml_tree(text, file)
    top = _Ctx(file, tree, "", getattr(tree, "line", 1))
    namespace = top.get("namespace", str, "pybpf", check=_label_name)
    enable_stats = top.get("enable_stats", bool, False)
    base = Path(file).resolve().parent if file != "<config>" else Path.cwd()
    objects: list[ObjectConfig] = []
    names: set[str] = set()
    for oc, _ in top.items("objects", required=True):
        obj = _object(oc, base)
        if obj.name in names:
            raise obj.where.error(f"object name {obj.name!r} appears twice")
        names.add(obj.name)
        objects.append(obj)
    top.done()
    seen: dict[str, Where] = {}
    for obj in objects:
        for m in obj.metrics:
            if m.name in seen:
                prev = seen[m.name]
                raise m.where.error(
                    f"metric {m.name!r} is defined twice (also at {prev.file}:{prev.line})"
                )
            seen[m.name] = m.where
    return Config(file=file, namespace=namespace, enable_stats=enable_stats, objects=objects)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a configuration file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration: {exc.strerror}", file=str(p)) from exc
    return parse_config(text, str(p))

"""The exporter's core: load the configured objects and turn their maps into
Prometheus metric families on every scrape (a custom ``prometheus_client`` collector).

Each scrape reads every metric's map once with batch lookups, decodes the keys from
BTF, applies the label decoders (cached per raw value) and sums the series that end
with the same labels. A map that cannot be read becomes a ``*_map_read_errors_total``
sample and a log line; the rest of the scrape goes on.
"""

from __future__ import annotations

import logging
import math
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from typing import TYPE_CHECKING, Any

from pybpf.errors import BPFError, ConfigError
from pybpf.export.config import Config, HistogramSpec, LabelSpec, MetricSpec, ObjectConfig, Where
from pybpf.export.decoders import build_chain

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    import pybpf

__all__ = ["ExportCollector", "ExportedObject", "MapReader"]

log = logging.getLogger("pybpf.export")


class _Part:
    """Where one member of a key or value lies in the raw bytes, and how to decode it.

    ``fld`` "" means the whole key/value. Bitfields are refused (labels come from
    whole members)."""

    def __init__(self, layout: Any, fld: str, where: Where, map_name: str, what: str) -> None:
        cls = getattr(layout, "cls", None)
        if not fld:
            if cls is not None:
                raise where.error(
                    f"{what} of map {map_name!r} is a struct ({layout.type_name}): "
                    "name one of its fields"
                )
            self.off, self.layout = 0, layout
        else:
            fields = {f.name: f for f in getattr(layout, "fields", ())}
            f = fields.get(fld)
            if cls is None or f is None:
                known = ", ".join(fields) if fields else f"none: it is a {layout.type_name}"
                raise where.error(
                    f"{what} of map {map_name!r} has no field {fld!r}; fields: {known}"
                )
            if f.bits or f.bit_offset % 8:
                raise where.error(f"field {fld!r} of map {map_name!r} is a bitfield")
            self.off, self.layout = f.bit_offset // 8, f.layout
        self.size = int(self.layout.size)
        self.end = self.off + self.size
        fmt = getattr(self.layout, "fmt", None)
        #: an integer member: decoded with int.from_bytes (no layout call)
        self.int_signed: bool | None = None
        if getattr(self.layout, "conv", 1) is None and fmt in _INT_FMTS:
            self.int_signed = fmt.islower()

    def decode(self, raw: bytes) -> Any:
        """The member's Python value out of the whole key/value bytes."""
        chunk = raw[self.off : self.end]
        if self.int_signed is not None:
            return int.from_bytes(chunk, "little", signed=self.int_signed)
        return self.layout.decode(chunk)


_INT_FMTS = frozenset("BHIQbhiq")


class MapReader:
    """Reads one map into {label values: value}, labels decoded from the BTF key.

    Keys and values stay bytes: each label's member is sliced out and decoded once
    per distinct raw value (cached), so a scrape costs a dict lookup per key."""

    def __init__(
        self,
        m: pybpf.Map,
        labels: list[LabelSpec],
        *,
        value_field: str,
        where: Where,
        bucket_field: str | None = None,
        whole_key_labels: bool = True,
    ) -> None:
        from pybpf.values.codec import LayoutCodec

        self.map = m
        kc, vc = m.key_codec, m.value_codec
        if not isinstance(kc, LayoutCodec) or not isinstance(vc, LayoutCodec):
            raise where.error(f"map {m.name!r} has no BTF key/value types to decode labels from")
        is_struct = getattr(kc.layout, "cls", None) is not None
        self.parts: list[_Part] = []
        self.chains: list[Callable[[Any], str | None]] = []
        for lab in labels:
            if not is_struct and not whole_key_labels:
                raise lab.where.error(
                    f"the key of map {m.name!r} is not a struct: it has no field for label "
                    f"{lab.name!r}"
                )
            fld = lab.field if is_struct else ""
            self.parts.append(_Part(kc.layout, fld, lab.where, m.name, "the key"))
            self.chains.append(build_chain(lab.decoders))
        self.caches: list[dict[bytes, str | None]] = [{} for _ in labels]
        self.bucket: _Part | None = None
        if bucket_field is not None:
            self.bucket = _Part(kc.layout, bucket_field if is_struct else "", where, m.name,
                                "the key")  # fmt: skip
            if self.bucket.int_signed is None:
                raise where.error(f"the bucket field of map {m.name!r} is not an integer")
        self.value = _Part(vc.layout, value_field, where, m.name, "the value")
        self.stride = m.value_stride
        self.ncpus = m.ncpus

    def _value(self, raw: bytes) -> int | float:
        part = self.value
        if part.int_signed is not None and self.ncpus == 1:
            return int.from_bytes(raw[part.off : part.end], "little", signed=part.int_signed)
        total: int | float = 0
        for c in range(self.ncpus):
            base = c * self.stride
            v = part.decode(raw[base : base + self.stride])
            total += v if isinstance(v, int | float) else float(v)
        return total

    def _labels(self, kraw: bytes) -> tuple[str, ...] | None:
        out = []
        for part, chain, cache in zip(self.parts, self.chains, self.caches, strict=True):
            raw = kraw[part.off : part.end]
            try:
                hit = cache[raw]
            except KeyError:
                hit = chain(part.decode(kraw))
                if len(cache) >= 200_000:  # keys churn: keep the cache bounded
                    cache.clear()
                cache[raw] = hit
            if hit is None:
                return None
            out.append(hit)
        return tuple(out)

    def read(self) -> dict[tuple[str, ...], int | float]:
        """{labels: summed value}: series whose labels decode the same are added up."""
        if len(self.parts) == 1 and self.value.int_signed is not None and self.ncpus == 1:
            fast = self._read_fast()
            if fast is not None:
                return fast
        out: dict[tuple[str, ...], int | float] = {}
        get = out.get
        value = self._value
        for kraw, vraw in self.map.items_raw():
            labels = self._labels(kraw)
            if labels is not None:
                out[labels] = get(labels, 0) + value(vraw)
        return out

    def _batches(self) -> Iterator[tuple[bytes, bytes, int]] | None:
        """The map as (keys blob, values blob, count) batches, or None without batch ops."""
        batches = self.map.batches_raw()
        if batches is None:
            return None
        return ((r.keys, r.values, r.count) for r in batches)

    def _read_fast(self) -> dict[tuple[str, ...], int | float] | None:
        """One label, integer values: whole batches at C speed (slices, struct, map)."""
        batches = self._batches()
        if batches is None:
            return None
        part, chain, cache = self.parts[0], self.chains[0], self.caches[0]
        ks, vs = self.map.key_size, self.map.value_size
        vp = self.value
        vfmt = "=" + (f"{vp.off}x" if vp.off else "") + vp.layout.fmt
        vfmt += f"{vs - vp.end}x" if vs > vp.end else ""
        vst = struct.Struct(vfmt)
        whole_value = vp.off == 0 and vp.size == vs
        raws: list[bytes] = []
        vals: list[int] = []
        for kb, vb, n in batches:
            lo, width = part.off, part.size
            raws += [kb[i : i + width] for i in range(lo, n * ks, ks)]
            if whole_value:
                vals += memoryview(vb).cast(vp.layout.fmt).tolist()
            else:
                vals += [t[0] for t in vst.iter_unpack(vb)]
        labs = list(map(cache.get, raws, repeat(_MISS)))
        if _MISS in labs:
            if len(cache) + len(raws) > 200_000:  # keys churn: keep the cache bounded
                cache.clear()
            for i, lab in enumerate(labs):
                if lab is _MISS:
                    raw = raws[i]
                    lab = cache.get(raw, _MISS)
                    if lab is _MISS:
                        lab = cache[raw] = chain(part.decode(bytes(part.off) + raw))
                    labs[i] = lab
        if None not in labs:
            one = dict(zip(zip(labs), vals, strict=True))
            if len(one) == len(labs):  # one series per key: nothing to add up
                return one  # type: ignore[return-value]
        out: dict[tuple[str, ...], int | float] = {}
        get = out.get
        for lab, v in zip(labs, vals, strict=True):
            if lab is not None:
                key = (lab,)
                out[key] = get(key, 0) + v
        return out

    def read_buckets(self) -> dict[tuple[str, ...], dict[int, int | float]]:
        """{labels: {bucket index: count}} for a histogram's bucket map."""
        assert self.bucket is not None
        bucket = self.bucket
        out: dict[tuple[str, ...], dict[int, int | float]] = {}
        for kraw, vraw in self.map.items_raw():
            labels = self._labels(kraw)
            if labels is None:
                continue
            slots = out.setdefault(labels, {})
            b = int(bucket.decode(kraw))
            slots[b] = slots.get(b, 0) + self._value(vraw)
        return out


_MISS: Any = object()


class _Hist:
    """A histogram's bucket bounds and how raw bucket keys map onto them."""

    def __init__(self, spec: HistogramSpec) -> None:
        self.spec = spec
        mult = spec.bucket_multiplier
        if spec.bucket_type == "exact":
            self.keys = list(spec.bucket_keys)
            self.bounds = [k * mult for k in self.keys]
        else:
            self.keys = list(range(spec.bucket_min, spec.bucket_max + 1))
            if spec.bucket_type == "log2":
                self.bounds = [math.ldexp(1.0, int(k)) * mult for k in self.keys]
            else:
                self.bounds = [(k + 1) * spec.bucket_width * mult for k in self.keys]
        from prometheus_client.utils import floatToGoString

        self.le = [str(floatToGoString(b)) for b in self.bounds] + ["+Inf"]  # type: ignore[no-untyped-call]

    def index(self, key: int) -> int:
        """The position of raw bucket ``key`` among the bounds (len: only in +Inf)."""
        s = self.spec
        if s.bucket_type == "exact":
            import bisect

            return bisect.bisect_left(self.keys, key)
        if key < s.bucket_min:
            return 0
        if key > s.bucket_max:
            return len(self.keys)
        return key - s.bucket_min

    def estimate(self, key: int) -> float:
        """A value standing for raw bucket ``key`` when no sum map gives the exact sum."""
        s = self.spec
        if s.bucket_type == "exact":
            return key * s.bucket_multiplier
        if s.bucket_type == "log2":
            return 0.0 if key <= 0 else 0.75 * math.ldexp(1.0, key) * s.bucket_multiplier
        return (key + 0.5) * s.bucket_width * s.bucket_multiplier

    def family_data(
        self, slots: dict[int, float], total_sum: float | None
    ) -> tuple[list[tuple[str, float]], float]:
        counts = [0.0] * (len(self.keys) + 1)
        est = 0.0
        for key, n in slots.items():
            counts[self.index(key)] += n
            est += n * self.estimate(key)
        buckets: list[tuple[str, float]] = []
        acc = 0.0
        for le, n in zip(self.le, counts, strict=True):
            acc += n
            buckets.append((le, acc))
        return buckets, (total_sum if total_sum is not None else est)


class _Metric:
    """One configured metric bound to its maps in a loaded object."""

    def __init__(
        self, ns: str, obj: pybpf.Object, spec: MetricSpec | HistogramSpec, cfg: ObjectConfig
    ) -> None:
        self.spec = spec
        self.full_name = f"{ns}_{spec.name}" if ns else spec.name
        self.label_names = [lab.name for lab in spec.labels]
        #: label text per label value, kept across scrapes (see SeriesFamily)
        self.fragments: list[dict[str, str]] = [{} for _ in spec.labels]
        m = _map(obj, cfg, spec.map, spec.map_where)
        self.hist: _Hist | None = None
        self.sum_reader: MapReader | None = None
        if isinstance(spec, HistogramSpec):
            self.hist = _Hist(spec)
            self.reader = MapReader(
                m,
                spec.labels,
                value_field=spec.value_field,
                where=spec.map_where,
                bucket_field=spec.bucket_field,
                whole_key_labels=False,
            )
            if spec.sum_map:
                sm = _map(obj, cfg, spec.sum_map, spec.map_where)
                self.sum_reader = MapReader(
                    sm, spec.labels, value_field="", where=spec.map_where, whole_key_labels=False
                )
        else:
            self.reader = MapReader(m, spec.labels, value_field=spec.value_field,
                                    where=spec.map_where)  # fmt: skip

    def family(self) -> Metric:
        from prometheus_client.core import HistogramMetricFamily

        from pybpf.export.exposition import SeriesFamily

        spec = self.spec
        names = self.label_names
        if self.hist is not None:
            fam: Metric = HistogramMetricFamily(self.full_name, spec.help, labels=names)
            slots_by = self.reader.read_buckets()
            sums: dict[tuple[str, ...], float] | None = None
            if self.sum_reader is not None:
                sums = self.sum_reader.read()
            mult = spec.bucket_multiplier if isinstance(spec, HistogramSpec) else 1.0
            for labels, slots in slots_by.items():
                total = None
                if sums is not None:
                    total = sums.get(labels, 0.0) * mult
                buckets, s = self.hist.family_data(slots, total)
                fam.add_metric(list(labels), buckets, s)  # type: ignore[attr-defined]
            return fam
        return SeriesFamily(
            self.full_name, spec.help, spec.kind, names, self.reader.read(), self.fragments
        )


def _map(obj: pybpf.Object, cfg: ObjectConfig, name: str, where: Where) -> pybpf.Map:
    try:
        return obj.maps[name]
    except KeyError as exc:
        known = ", ".join(n for n in obj.maps if not n.startswith(".")) or "none"
        raise where.error(
            f"object {cfg.name!r} ({cfg.path.name}) has no map {name!r}; maps: {known}"
        ) from exc


class ExportedObject:
    """One configured BPF object: opened, rodata set, loaded, attached and its metrics
    bound to its maps. ``close()`` detaches and frees everything."""

    def __init__(self, cfg: ObjectConfig, namespace: str, *, verbose: bool = False) -> None:
        import pybpf

        self.cfg = cfg
        self.name = cfg.name
        self.obj = pybpf.open(cfg.path, verbose=verbose)
        try:
            for var, value in cfg.rodata.items():
                try:
                    self.obj.globals[var] = value
                except KeyError as exc:
                    raise cfg.rodata_where[var].error(
                        f"object {cfg.name!r}: {exc.args[0]}"
                    ) from exc
                except (TypeError, ValueError, OverflowError, BPFError) as exc:
                    raise cfg.rodata_where[var].error(f"cannot set {var!r}: {exc}") from exc
            # bind metrics before load: a config mistake costs no kernel work
            self.metrics = [_Metric(namespace, self.obj, spec, cfg) for spec in cfg.metrics]
            self.obj.load()
            self._attach()
        except BaseException:
            self.obj.close()
            raise

    def _attach(self) -> None:
        if self.cfg.attach is None:
            self.obj.attach()
            if self.obj.attach_skipped:
                log.warning("%s: not attached: %s", self.name, self.obj.attach_skipped)
            return
        for a in self.cfg.attach:
            try:
                prog = self.obj.programs[a.program]
            except KeyError as exc:
                raise a.where.error(
                    f"object {self.name!r} has no program {a.program!r}; "
                    f"programs: {', '.join(self.obj.programs)}"
                ) from exc
            link = prog.attach_xdp(a.interface, mode=a.mode) if a.interface else prog.attach()
            self.obj.own_link(link)

    def close(self) -> None:
        """Detach and close the object."""
        self.obj.close()


class ExportCollector:
    """The custom collector: every ``collect()`` is one scrape of every object."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.objects: list[ExportedObject] = []
        self.lock = threading.Lock()
        self.read_errors: dict[tuple[str, str], int] = {}

    def describe(self) -> list[Metric]:
        """Nothing up front: the metrics depend on the loaded configuration."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Read every map of every object and yield the metric families."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        ns = self.namespace
        with self.lock:
            objects = list(self.objects)
            for eo in objects:
                for metric in eo.metrics:
                    try:
                        yield metric.family()
                    except Exception as exc:  # one bad map never fails the scrape
                        key = (eo.name, metric.spec.map)
                        self.read_errors[key] = self.read_errors.get(key, 0) + 1
                        log.warning(
                            "%s: reading map %r for %s failed: %s",
                            eo.name, metric.spec.map, metric.full_name, exc,
                        )  # fmt: skip
            prog_info = GaugeMetricFamily(
                f"{ns}_program_info",
                "A loaded BPF program (value 1)",
                labels=["object", "program", "id", "tag", "type"],
            )
            runs = CounterMetricFamily(
                f"{ns}_program_run_count",
                "Times the program ran (needs BPF stats: enable_stats)",
                labels=["object", "program", "id"],
            )
            run_time = CounterMetricFamily(
                f"{ns}_program_run_time_seconds",
                "Time spent running the program (needs BPF stats: enable_stats)",
                labels=["object", "program", "id"],
            )
            map_info = GaugeMetricFamily(
                f"{ns}_map_info",
                "A BPF map of a loaded object (value 1)",
                labels=["object", "map", "id", "type", "max_entries"],
            )
            for eo in objects:
                for pname, prog in eo.obj.programs.items():
                    if not prog.loaded:
                        continue
                    try:
                        info = prog.info()
                    except Exception as exc:
                        log.warning("%s: program %r info: %s", eo.name, pname, exc)
                        continue
                    pid = str(info.id)
                    ptype = getattr(info.type, "name", str(info.type)).lower()
                    prog_info.add_metric([eo.name, pname, pid, info.tag.hex()
                                          if isinstance(info.tag, bytes) else str(info.tag),
                                          ptype], 1)  # fmt: skip
                    runs.add_metric([eo.name, pname, pid], info.run_cnt)
                    run_time.add_metric([eo.name, pname, pid], info.run_time_ns / 1e9)
                for mname, m in eo.obj.maps.items():
                    if not m.created:
                        continue
                    try:
                        minfo = m.info()
                    except Exception as exc:
                        log.warning("%s: map %r info: %s", eo.name, mname, exc)
                        continue
                    mtype = getattr(m.type, "name", str(m.type)).lower()
                    map_info.add_metric(
                        [eo.name, mname, str(minfo.id), mtype, str(m.max_entries)], 1
                    )
            errors = CounterMetricFamily(
                f"{ns}_map_read_errors",
                "Failed reads of a map (each also logged); the scrape goes on",
                labels=["object", "map"],
            )
            for (oname, mname), n in sorted(self.read_errors.items()):
                errors.add_metric([oname, mname], n)
        yield from (prog_info, runs, run_time, map_info, errors)


def load_objects(
    cfg: Config, *, keep: dict[str, ExportedObject] | None = None, verbose: bool = False
) -> tuple[list[ExportedObject], list[ExportedObject]]:
    """Bring up ``cfg``'s objects, reusing those of ``keep`` whose settings are unchanged.

    Returns (objects in config order, newly loaded ones). On any error, the newly
    loaded objects are closed again and the error propagates: nothing changes.
    """
    keep = keep or {}
    out: list[ExportedObject] = []
    fresh: list[ExportedObject] = []
    try:
        for oc in cfg.objects:
            old = keep.get(oc.name)
            if old is not None and old.cfg.signature == oc.signature:
                out.append(old)
                continue
            started = time.monotonic()
            try:
                eo = ExportedObject(oc, cfg.namespace, verbose=verbose)
            except ConfigError:
                raise
            except BPFError as exc:
                raise ConfigError(
                    f"object {oc.name!r} ({oc.path}) failed to load or attach: {exc}",
                    file=oc.where.file,
                    line=oc.where.line,
                    field=oc.where.field.rsplit(".", 1)[0],
                ) from exc
            log.info(
                "%s: loaded %s in %.0f ms", oc.name, oc.path, (time.monotonic() - started) * 1e3
            )
            fresh.append(eo)
            out.append(eo)
    except BaseException:
        for eo in fresh:
            eo.close()
        raise
    return out, fresh


def close_all(objects: Iterable[ExportedObject]) -> None:
    """Close objects, logging (not raising) individual failures."""
    for eo in objects:
        try:
            eo.close()
        except Exception as exc:
            log.warning("%s: close: %s", eo.name, exc)

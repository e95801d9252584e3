"""Fast text exposition of big counter/gauge families, and the ``/metrics`` HTTP server.

A map of 100,000 keys becomes 100,000 series per scrape. prometheus_client builds a
``Sample`` per series and formats each one in Python; :class:`SeriesFamily` keeps
its series as ``{label values: value}`` and renders them with label text cached per
distinct value, making ``Sample`` objects only if some other consumer reads
``.samples``. Every other family goes through prometheus_client's own exposition.
"""

from __future__ import annotations

import http.server
import logging
import operator
import threading
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

__all__ = ["CONTENT_TYPE", "MetricsServer", "SeriesFamily", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_MAX_CACHED = 200_000  # label texts kept per label between scrapes
log = logging.getLogger("pybpf.export")


def _escape_label(v: str) -> str:
    return v.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(v: str) -> str:
    return v.replace("\\", r"\\").replace("\n", r"\n")


def _value(v: int | float) -> str:
    return str(v) if isinstance(v, int) else str(floatToGoString(v))  # type: ignore[no-untyped-call]


class SeriesFamily(Metric):
    """A counter or gauge whose series are ``{label values: value}``.

    Example: ``SeriesFamily("x", "help", "counter", ["comm"], {("bash",): 3})``
    renders ``x_total{comm="bash"} 3``.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        typ: str,
        label_names: list[str],
        data: dict[tuple[str, ...], int | float],
        fragments: list[dict[str, str]] | None = None,
    ) -> None:
        if typ == "counter" and name.endswith("_total"):
            name = name[: -len("_total")]
        self._samples: list[Sample] | None = None
        super().__init__(name, documentation, typ)
        self.label_names = list(label_names)
        self.data = data
        #: per label: value -> 'name="escaped value"' (one label: the whole line prefix),
        #: kept across scrapes by the caller
        self.fragments = fragments if fragments is not None else [{} for _ in label_names]
        self.sample_name = name + "_total" if typ == "counter" else name

    @property
    def samples(self) -> list[Sample]:
        """prometheus_client ``Sample`` objects, made on first use only."""
        if self._samples is None:
            names, sname = self.label_names, self.sample_name
            self._samples = [
                Sample(sname, dict(zip(names, labels, strict=True)), float(v), None, None)
                for labels, v in self.data.items()
            ]
        return self._samples

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        if value:
            self._samples = list(value)

    def render(self) -> str:
        """The family in the text format (0.0.4)."""
        sname = self.sample_name
        head = f"# HELP {sname} {_escape_help(self.documentation)}\n# TYPE {sname} {self.type}\n"
        if not self.data:
            return head
        frags = self.fragments
        names = self.label_names
        lines = [head]
        if len(names) == 1:  # the common case, at C speed: cached line prefixes
            cache, lname = frags[0], names[0]
            firsts = list(map(itemgetter(0), self.data))
            prefixes = list(map(cache.get, firsts))
            if None in prefixes:
                if len(cache) > _MAX_CACHED:  # label values churn: start over
                    cache.clear()
                for i, p in enumerate(prefixes):
                    if p is None:
                        v0 = firsts[i]
                        prefixes[i] = cache[v0] = f'{sname}{{{lname}="{_escape_label(v0)}"}} '
            values = self.data.values()
            text = map(str, values) if all(type(v) is int for v in values) else map(_value, values)
            lines.append("\n".join(map(operator.add, prefixes, text)))
            lines.append("\n")
            return "".join(lines)
        for cache in frags:
            if len(cache) > _MAX_CACHED:
                cache.clear()
        for labels, value in self.data.items():
            parts = []
            for cache, lname, v in zip(frags, names, labels, strict=True):
                f = cache.get(v)
                if f is None:
                    f = cache[v] = f'{lname}="{_escape_label(v)}"'
                parts.append(f)
            inner = ",".join(parts)
            lines.append(
                f"{sname}{{{inner}}} {_value(value)}\n" if inner else f"{sname} {_value(value)}\n"
            )
        return "".join(lines)


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def render(collector: Any) -> bytes:
    """Everything ``collector.collect()`` yields, in the text format."""
    out: list[bytes] = []
    others: list[Metric] = []
    for fam in collector.collect():
        if isinstance(fam, SeriesFamily):
            if others:
                out.append(generate_latest(_Families(others)))
                others = []
            out.append(fam.render().encode())
        else:
            others.append(fam)
    if others:
        out.append(generate_latest(_Families(others)))
    return b"".join(out)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            try:
                body = render(self.server.collector)
            except Exception as exc:  # the collector already turns map errors into metrics
                log.exception("scrape failed")
                self._reply(500, f"scrape failed: {exc}\n".encode(), "text/plain")
                return
            self._reply(200, body, CONTENT_TYPE)
        elif path == "/":
            page = b"<html><body><h1>pybpf export</h1><a href='/metrics'>metrics</a></body></html>"
            self._reply(200, page, "text/html")
        else:
            self._reply(404, b"not found: try /metrics\n", "text/plain")

    def _reply(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per scrape would drown the log


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    collector: Any


class MetricsServer:
    """Serves ``/metrics`` from ``collector`` on ``(host, port)`` in a thread."""

    def __init__(self, host: str, port: int, collector: Any) -> None:
        import socket

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        cls: type[_Server] = type("_Srv", (_Server,), {"address_family": family})
        self.server = cls((host, port), _Handler)
        self.server.collector = collector
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MetricsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

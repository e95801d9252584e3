"""The ``pybpf export`` daemon: serve ``/metrics`` until SIGTERM/SIGINT, reload on SIGHUP.

- SIGTERM/SIGINT: stop serving, detach and close every object, exit 0.
- SIGHUP: re-read the configuration; objects whose settings (and object file) are
  unchanged keep running with their counters; a bad configuration is logged with
  its file, line and field, and nothing that runs changes.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pybpf.errors import BPFError, ConfigError
from pybpf.export.collector import ExportCollector, ExportedObject, close_all, load_objects
from pybpf.export.config import Config, load_config

__all__ = ["EXAMPLES_DIR", "Exporter", "example_names", "parse_listen", "resolve_config", "serve"]

log = logging.getLogger("pybpf.export")
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
DEFAULT_LISTEN = "127.0.0.1:9435"


def example_names() -> list[str]:
    """The shipped example configurations, run by name (``pybpf export exec-count``)."""
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))


def resolve_config(arg: str) -> Path:
    """A config file path, or the shipped example of that name."""
    p = Path(arg)
    if p.is_file():
        return p
    ex = EXAMPLES_DIR / f"{arg}.yaml"
    if "/" not in arg and ex.is_file():
        return ex
    raise ConfigError(
        f"no configuration file {arg!r} and no shipped example of that name "
        f"(examples: {', '.join(example_names())})"
    )


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[v6]:PORT`` for IPv6) → (addr, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"--listen {text!r}: expected ADDR:PORT, e.g. {DEFAULT_LISTEN}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


class Exporter:
    """The configured objects and the collector that scrapes them."""

    def __init__(self, config_path: str | os.PathLike[str], *, verbose: bool = False) -> None:
        self.path = Path(config_path)
        self.verbose = verbose
        self.config: Config = load_config(self.path)
        self.collector = ExportCollector(self.config.namespace)
        self._stats_fd: Any = None
        objects, _ = load_objects(self.config, verbose=verbose)
        self.collector.objects = objects
        try:
            self._set_stats(self.config.enable_stats)
        except BaseException:
            close_all(objects)
            raise

    @property
    def objects(self) -> dict[str, ExportedObject]:
        """Running objects by name."""
        return {eo.name: eo for eo in self.collector.objects}

    def _set_stats(self, enable: bool) -> None:
        if enable and self._stats_fd is None:
            from pybpf.sys.links import enable_stats

            self._stats_fd = enable_stats()
        elif not enable and self._stats_fd is not None:
            self._stats_fd.close()
            self._stats_fd = None

    def reload(self) -> bool:
        """Apply the configuration file again (SIGHUP); False (and no change) on error."""
        try:
            cfg = load_config(self.path)
            if cfg.namespace != self.config.namespace:
                raise ConfigError(
                    "namespace cannot change on reload (restart the exporter)", file=str(self.path)
                )
            current = self.objects
            objects, fresh = load_objects(cfg, keep=current, verbose=self.verbose)
        except BPFError as exc:
            log.error("reload failed, keeping the running configuration: %s", exc)
            return False
        kept = {id(eo) for eo in objects}
        with self.collector.lock:
            self.collector.objects = objects
            gone = [eo for eo in current.values() if id(eo) not in kept]
        close_all(gone)
        self.config = cfg
        self._set_stats(cfg.enable_stats)
        log.info(
            "reloaded %s: %d kept, %d loaded, %d closed",
            self.path, len(objects) - len(fresh), len(fresh), len(gone),
        )  # fmt: skip
        return True

    def close(self) -> None:
        """Detach and close every object."""
        with self.collector.lock:
            objects, self.collector.objects = self.collector.objects, []
        close_all(objects)
        self._set_stats(False)


def exporter_registry(exporter: Exporter) -> Any:
    """A prometheus_client registry of the exporter's collector plus the process's own
    metrics (``process_resident_memory_bytes``, CPU seconds, open fds)."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(exporter.collector)
    ProcessCollector(registry=registry)
    return registry


@dataclass
class _Flags:
    wake: threading.Event
    stop: bool = False
    reload: bool = False


def serve(config: str, listen: str = DEFAULT_LISTEN, *, verbose: bool = False) -> int:
    """Run the exporter until SIGTERM/SIGINT; returns the exit status (0)."""
    from pybpf.export.exposition import MetricsServer

    path = resolve_config(config)
    host, port = parse_listen(listen)
    exporter = Exporter(path, verbose=verbose)
    flags = _Flags(threading.Event())
    try:
        registry = exporter_registry(exporter)
        try:
            server = MetricsServer(host, port, registry)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
        server.thread.start()

        def on_stop(signum: int, frame: Any) -> None:
            flags.stop = True
            flags.wake.set()

        def on_hup(signum: int, frame: Any) -> None:
            flags.reload = True
            flags.wake.set()

        old = {
            s: signal.signal(s, h)
            for s, h in (
                (signal.SIGTERM, on_stop),
                (signal.SIGINT, on_stop),
                (signal.SIGHUP, on_hup),
            )
        }
        names = ", ".join(exporter.objects)
        print(
            f"pybpf export: serving http://{listen}/metrics ({names}); SIGHUP reloads {path}",
            file=sys.stderr,
            flush=True,
        )
        try:
            while not flags.stop:
                flags.wake.wait()
                flags.wake.clear()
                if flags.reload and not flags.stop:
                    flags.reload = False
                    exporter.reload()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            server.close()
    finally:
        exporter.close()
    log.info("stopped: everything detached")
    return 0

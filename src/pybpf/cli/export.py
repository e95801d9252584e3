"""``pybpf export CONFIG.yaml|NAME``: serve BPF map contents as Prometheus metrics."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="Prometheus exporter: BPF maps as metrics, from a YAML config or a shipped example",
        description=(
            "Load the BPF objects a YAML configuration names and serve their maps as "
            "Prometheus metrics on /metrics. NAME runs a shipped example (--list names them). "
            "SIGHUP reloads the configuration; SIGTERM/SIGINT detach everything and exit."
        ),
    )
    p.add_argument("config", nargs="?", metavar="CONFIG.yaml|NAME", help="configuration or example")
    p.add_argument(
        "--listen", default="127.0.0.1:9435", metavar="ADDR:PORT", help="default 127.0.0.1:9435"
    )
    p.add_argument("--list", action="store_true", help="name the shipped examples and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="also show the loader's debug output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import logging

    from pybpf.export.daemon import EXAMPLES_DIR, example_names

    if args.list:
        for name in example_names():
            first = (EXAMPLES_DIR / f"{name}.yaml").read_text().splitlines()[0]
            print(f"{name:<18} {first.lstrip('# ')}")
        return 0
    if not args.config:
        print("pybpf export: name a configuration file or an example (--list)")
        return 2
    try:
        import prometheus_client  # noqa: F401
        import yaml  # noqa: F401
    except ModuleNotFoundError as exc:
        from pybpf.errors import BPFError

        raise BPFError(f"pybpf export needs {exc.name}: pip install 'pybpf[export]'") from exc
    from pybpf.export.daemon import serve

    logging.basicConfig(
        level=logging.INFO,
        format="pybpf export: %(message)s",
    )
    return serve(args.config, args.listen, verbose=args.verbose)

"""``pybpf export``: a Prometheus exporter for BPF maps, driven by YAML and BTF.

A configuration names BPF objects and, per object, which maps become counters,
gauges or histograms and how their BTF keys turn into labels (see
:mod:`pybpf.export.config`). Needs the ``export`` extra (prometheus-client, PyYAML);
nothing here is imported by ``import pybpf``.

Example: ``pybpf export exec-count`` then ``curl -s 127.0.0.1:9435/metrics``.
"""

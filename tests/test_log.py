"""Verbose output goes through logging (logger "pybpf"), on stderr when nothing else is
configured, and costs no logging import when nobody listens."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pybpf

SCRIPT = """
import sys, pybpf
with pybpf.open(sys.argv[1], verbose=sys.argv[2] == "1") as obj:
    obj.load()
print("logging imported:", "logging" in sys.modules)
"""


@pytest.mark.usefixtures("kernel")
@pytest.mark.parametrize("verbose", [True, False])
def test_verbose_load_logs_to_stderr_without_logging_config(bpf_obj: Any, verbose: bool) -> None:
    src = str(Path(pybpf.__file__).resolve().parent.parent)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(bpf_obj("globals")), "1" if verbose else "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("pybpf: globals: ")]
    if verbose:
        assert any("loaded program" in ln for ln in lines), proc.stderr
    else:  # quiet, and logging never imported for it
        assert lines == [] and proc.stderr == ""
        assert "logging imported: False" in proc.stdout


@pytest.mark.usefixtures("kernel")
def test_loader_messages_reach_an_application_logger(
    bpf_obj: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="pybpf"):
        with pybpf.open(bpf_obj("globals")) as obj:
            obj.load()
        quiet = [r for r in caplog.records if r.name == "pybpf"]
        caplog.clear()
        with pybpf.open(bpf_obj("globals"), verbose=True) as obj:
            obj.load()
        loud = [r for r in caplog.records if r.name == "pybpf"]
    assert quiet and {r.levelno for r in quiet} == {logging.DEBUG}
    assert any("loaded program" in r.getMessage() for r in quiet)
    assert loud and {r.levelno for r in loud} == {logging.INFO}

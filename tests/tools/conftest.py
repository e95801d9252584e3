"""Fixtures of the tool tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from netns import VethPair
from toolproc import ToolProcess


@pytest.fixture()
def run_tool() -> Iterator[Callable[..., ToolProcess]]:
    """Start tools; every one still running at the end of the test is killed."""
    started: list[ToolProcess] = []

    def start(module: str, *args: str) -> ToolProcess:
        tp = ToolProcess(module, args)
        started.append(tp)
        return tp

    yield start
    for tp in started:
        tp.close()


@pytest.fixture()
def veth() -> Iterator[VethPair]:
    """A fresh namespace + veth pair, removed after the test."""
    pair = VethPair.create()
    try:
        yield pair
    finally:
        pair.destroy()

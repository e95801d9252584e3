"""Fixtures of the tool tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
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

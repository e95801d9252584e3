"""Kernel matrix: uprobe.multi links (6.6) on the test target, or the clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.link._progs import Counter
from tests.link.test_uprobe import CALLS, run_target

from pybpf.errors import NotSupportedError
from pybpf.link import Link
from pybpf.link.uprobe import attach_uprobe_multi
from pybpf.sys.kversions import before
from pybpf.uapi.enums import AttachType, ProgType

pytestmark = [pytest.mark.matrix, pytest.mark.kernel]


def test_uprobe_multi_or_clear_error(no_leaks: object, uprobe_target: Path) -> None:
    c = Counter(
        ProgType.KPROBE, name="lt_mxupmulti", expected_attach_type=AttachType.TRACE_UPROBE_MULTI
    )
    try:
        if before("6.6"):
            with pytest.raises(NotSupportedError) as exc:
                attach_uprobe_multi(c.fd, str(uprobe_target), "pybpf_target_*")
            assert exc.value.min_kernel == "6.6" and "uprobe.multi" in str(exc.value)
            return

        def attach(pid: int) -> list[Link]:
            return [attach_uprobe_multi(c.fd, str(uprobe_target), "pybpf_target_*", pid=pid)]

        run_target(uprobe_target, attach)
        assert c.value() == CALLS + (CALLS + 1) // 2
    finally:
        c.close()

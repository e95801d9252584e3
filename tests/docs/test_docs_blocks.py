"""Every code block in docs/ runs, page by page, in order: the docs cannot rot.

Per page, in a fresh working directory: ``c`` blocks with ``title="NAME"`` are
written to NAME; ``sh`` blocks run in bash (``-e``) with ``pybpf`` and
the tools' console scripts on PATH (running this checkout's code); ``python``
blocks run in one namespace shared by the page. ``text`` blocks are sample output
and are not run. Any other language, or a fence this parser would not see, fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
FENCE = re.compile(r"^```(?P<lang>[\w-]*)(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
RUN = {"c", "sh", "python"}
SHOWN = {"text"}


def blocks(page: str) -> list[tuple[str, str, str, int]]:
    """(language, info string, body, line) of each fenced block of ``page``."""
    text = (DOCS / page).read_text()
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append((m.group("lang"), m.group("info").strip(), m.group("body"), line))
    # every fence line must belong to a block found above (no indented/odd fences)
    fences = [i for i, ln in enumerate(text.splitlines(), 1) if ln.lstrip().startswith("```")]
    assert len(fences) == 2 * len(out), f"{page}: fences the test would not run"
    return out


def test_every_page_is_collected_and_languages_are_known() -> None:
    assert {"getting-started.md", "concepts.md", "coming-from-bcc.md"} <= set(PAGES)
    runnable = 0
    for page in PAGES:
        for lang, info, _body, line in blocks(page):
            assert lang in RUN | SHOWN, f"{page}:{line}: block language {lang!r} is not run"
            if lang == "c" and 'title="' in info:
                runnable += 1
            runnable += lang in ("sh", "python")
    assert runnable >= 40


def _bin_dir(tmp: Path) -> Path:
    """Wrappers for the console scripts that run this checkout's code."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    bindir = tmp / "bin"
    bindir.mkdir()
    for name, target in scripts.items():
        mod, func = target.split(":")
        path = bindir / name
        path.write_text(
            f"#!/bin/sh\nexec {sys.executable} -c "
            f"'import sys; from {mod} import {func}; sys.exit({func}())' \"$@\"\n"
        )
        path.chmod(0o755)
    return bindir


@pytest.mark.parametrize("page", PAGES)
def test_page_blocks_run(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    todo = [b for b in blocks(page) if b[0] in RUN]
    if not todo:
        return
    request.getfixturevalue("kernel")  # the pages load programs: root and BPF needed
    from tests.conftest import need_tool

    need_tool("clang-19", "the docs compile their examples with pybpf build")
    work = tmp_path / "work"
    work.mkdir()
    bindir = _bin_dir(tmp_path)
    env = dict(os.environ)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(work)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    monkeypatch.chdir(work)
    monkeypatch.setenv("PATH", env["PATH"])  # python blocks may run the console scripts
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])
    monkeypatch.syspath_prepend(str(work))
    ns: dict[str, Any] = {"__name__": f"docs:{page}"}
    try:
        for lang, info, body, line in todo:
            where = f"docs/{page}:{line}"
            if lang == "c":
                m = re.search(r'title="([^"]+)"', info)
                if m is None:
                    continue  # a fragment shown inside prose, compiled as part of no file
                (work / m.group(1)).write_text(body)
            elif lang == "sh":
                proc = subprocess.run(
                    ["bash", "-e", "-c", body],
                    cwd=work,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                assert proc.returncode == 0, (
                    f"{where}: sh block failed ({proc.returncode})\n{body}\n"
                    f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
                )
            else:
                exec(compile(body, where, "exec"), ns)
    finally:
        for value in list(ns.values()):
            if type(value).__name__ == "Object" and hasattr(value, "close"):
                value.close()

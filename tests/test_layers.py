"""Layering: the domain (`runs_tui.core`) and the non-UI commands never import Textual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CORE_PROBE = """
import importlib, json, pkgutil, sys
import runs_tui.core as core
names = sorted(m.name for m in pkgutil.walk_packages(core.__path__, "runs_tui.core."))
for name in names:
    importlib.import_module(name)
ui = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(json.dumps({"modules": names, "textual": ui}))
"""

CLI_PROBE = """
import contextlib, io, json, sys
from runs_tui.cli import main
codes = []
out = io.StringIO()
with contextlib.redirect_stdout(out):
    for argv in json.loads(sys.argv[1]):
        try:
            codes.append(main(argv))
        except SystemExit as exc:
            codes.append(exc.code)
ui = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(json.dumps({"codes": codes, "textual": ui}))
"""


def probe(code: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_core_imports_no_textual():
    result = probe(CORE_PROBE)
    on_disk = {
        f"runs_tui.core.{p.stem}"
        for p in (ROOT / "runs_tui" / "core").glob("*.py")
        if p.stem != "__init__"
    }
    modules = set(result["modules"])  # type: ignore[arg-type]
    assert on_disk <= modules, on_disk - modules
    assert {"runs_tui.core.models", "runs_tui.core.ops", "runs_tui.core.text"} <= modules
    assert result["textual"] == []


def test_non_ui_commands_import_no_textual(tmp_path, pipeline_file):
    db = str(tmp_path / "layers.db")
    demo_db = str(tmp_path / "demo.db")
    commands = [
        ["pipeline", "register", str(pipeline_file), "--db", db],
        ["pipeline", "list", "--db", db],
        ["run", "simple", "--param", "lr=0.5", "--tag", "t", "--db", db],
        ["ls", "--db", db],
        ["ls", "--format", "json", "--db", db],
        ["ls", "--format", "csv", "--db", db],
        ["tag", "simple#1", "--add", "u", "--db", db],
        ["abort", "simple#1", "--db", db],
        ["continue", "simple#1", "--db", db],
        ["retry", "simple#1", "--db", db],
        ["archive", "simple#1", "--db", db],
        ["restore", "simple#1", "--db", db],
        ["demo", "--no-ui", "--db", demo_db],
        ["ls", "--db", "/no/such/folder/x.db"],
    ]
    result = probe(CLI_PROBE, json.dumps(commands))
    assert result["codes"] == [0] * 9 + [1, 0, 0, 0, 2]
    assert result["textual"] == []

"""Layering: the domain (`runs_tui.core`) and the non-UI commands never import Textual;
the UI and the CLI never import SQL; no module imports itself through others."""

from __future__ import annotations

import ast
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


SQL_PROBE = """
import importlib, json, pkgutil, sys
import runs_tui.ui as ui
names = sorted(m.name for m in pkgutil.walk_packages(ui.__path__, "runs_tui.ui."))
names += ["runs_tui.cli", "runs_tui.listing"]
for name in names:
    importlib.import_module(name)
sql = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel"))
print(json.dumps({"modules": names, "sql": sql}))
"""


def test_ui_and_cli_import_no_sql():
    """The UI and the CLI talk to sources: importing them loads neither SQLAlchemy nor
    SQLModel (the SQL source is imported only when a database is opened)."""
    result = probe(SQL_PROBE)
    modules = set(result["modules"])  # type: ignore[arg-type]
    assert {"runs_tui.ui.app", "runs_tui.ui.screens.main", "runs_tui.cli"} <= modules
    assert result["sql"] == []


def _imports(path: Path, package: str) -> set[str]:
    """Every runs_tui module `path` imports, wherever the import stands (in a function,
    under TYPE_CHECKING): a cycle through a lazy import is a cycle all the same."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] == "runs_tui"}


def _module_graph() -> dict[str, set[str]]:
    files = {}
    for path in (ROOT / "runs_tui").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = {m for m in _imports(path, package) if m in files and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_inside_runs_tui():
    graph = _module_graph()
    assert "runs_tui.ui.app" in graph and "runs_tui.core.source" in graph
    assert "runs_tui.ui.screens.main" in graph["runs_tui.ui.app"]
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]

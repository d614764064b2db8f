"""Real agent processes for tests: start, wait for, signal and clean up."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings


class Agents:
    """Starts `runs-tui agent` processes against one database; kills them all at the end."""

    def __init__(self, db: str, logs: Path) -> None:
        self.db, self.logs = db, logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, *args: str, name: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        n = len(self.procs)
        name = name or f"agent{n}"
        argv = [sys.executable, "-m", "runs_tui", "agent", "--db", self.db, "--name", name, *args]
        log = (self.logs / f"{name}.log").open("ab")  # a restarted agent adds to it
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
                    proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Callable[[str], Agents]]:
    made: list[Agents] = []

    def make(db: str) -> Agents:
        logs = tmp_path / "agent-logs"
        logs.mkdir(exist_ok=True)
        made.append(Agents(db, logs))
        return made[-1]

    yield make
    for a in made:
        a.stop_all()


THOROUGH = os.environ.get("RUNS_TUI_HYPOTHESIS") == "thorough"


def examples(n: int) -> int:
    """How many examples a property tries: `n` with RUNS_TUI_HYPOTHESIS=thorough (before
    a release, or after a change to what the property covers), a third by default, so the
    whole suite stays under ten minutes on two busy cores. Hypothesis keeps each failing
    example in .hypothesis/ and tries it first the next time, whatever the count."""
    return n if THOROUGH else max(10, n // 3)


def props(n: int) -> settings:
    """The settings of a property over real databases: `examples(n)` examples, no
    deadline (a database example takes what it takes), a function-scoped store reused."""
    return settings(
        max_examples=examples(n),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def wait_for(check: Callable[[], object], timeout: float, what: str, every: float = 0.1) -> object:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def pids_with(marker: str) -> list[int]:
    """Processes whose command line contains `marker` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                stat = (entry / "stat").read_text()
                if marker in cmd and stat.rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(int(entry.name))
    return out


def kill_marked(marker: str) -> None:
    for pid in pids_with(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def pipeline_toml(
    name: str,
    steps: list[tuple[str, list[str], list[str]]],
    params: dict[str, object] | None = None,
    queue: str = "default",
) -> str:
    """A pipeline file's text; steps as (name, argv, parents)."""
    import tomli_w

    doc: dict[str, object] = {"pipeline": {"name": name, "version": "1.0.0", "queue": queue}}
    if params:
        doc["parameters"] = params
    doc["steps"] = [{"name": n, "command": argv, "parents": parents} for n, argv, parents in steps]
    return tomli_w.dumps(doc)


ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m runs_tui ARGS` in a real subprocess, with this checkout on the path."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "runs_tui", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def open_concurrently(url: str, openers: int = 4) -> list[BaseException]:
    """Open (and so upgrade) the store at `url` from several threads at once; what failed."""
    import threading

    from runs_tui.core.db import open_store

    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_store(url).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(openers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def make_pre_alembic(url: str, schema_version: int = 4) -> None:
    """Turn the runs-tui database at `url` into one a release before Alembic left: every
    revision after "0001" undone, no `alembic_version`, `meta.schema_version` as given
    (the caller drops what that version lacked)."""
    from sqlalchemy import create_engine, text

    from runs_tui.core.migrations.upgrade import downgrade

    engine = create_engine(url)
    with engine.begin() as conn:
        downgrade(conn, "0001")
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(
            text("UPDATE meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(schema_version)},
        )
    engine.dispose()

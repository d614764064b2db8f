"""`runs-tui demo`: a fresh database with example pipelines, a live agent, then the app."""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlmodel import select

from runs_tui.core import ops
from runs_tui.core.db import StoreError, now, open_store
from runs_tui.core.models import Run
from runs_tui.demo.seed import seed

NEW_RUN_EVERY = (20.0, 40.0)
PR_SET_PDEATHSIG = 1


def start_demo(db: str | None, *, ui: bool = True) -> int:
    """Seed `db` (a temporary file unless given, removed after the app), start an agent and
    a feeder of new runs, and open the app on a config of its own (unless RUNS_TUI_CONFIG
    names one); with `ui` off only seed and print the path."""
    tmp = Path(tempfile.mkdtemp(prefix="runs-tui-demo-"))
    path = db or str(tmp / "demo.db")
    try:
        store = open_store(path)
        try:
            with store.read() as session:
                if session.exec(select(Run.id).limit(1)).first() is not None:
                    raise StoreError(
                        f"database {path!r} already has runs; the demo needs a new or empty "
                        f"database (open this one with `runs-tui --db {path}`)"
                    )
            names = seed(store, now(), live=ui)
        finally:
            store.dispose()
        if not ui:
            print(path)
            return 0
        from runs_tui.ui.app import run_app

        with _agent(path, tmp / "agent.log"), _feeder(path, names), _own_config(tmp):
            return run_app(path, pipeline=names[0])
    finally:
        if db is not None or ui:
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _own_config(folder: Path) -> Iterator[None]:
    """The app's settings (its last pipeline, views) go to a config in `folder`, removed
    with it, unless RUNS_TUI_CONFIG names one: a demo never writes the user's config."""
    if os.environ.get("RUNS_TUI_CONFIG"):
        yield
        return
    os.environ["RUNS_TUI_CONFIG"] = str(folder / "config.toml")
    try:
        yield
    finally:
        os.environ.pop("RUNS_TUI_CONFIG", None)


@contextlib.contextmanager
def _agent(db: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """An agent process on the demo queues; its log goes to a file, never the terminal."""
    argv = [
        sys.executable,
        "-m",
        "runs_tui",
        "agent",
        "--db",
        db,
        "--name",
        "demo-agent",
        "--queue",
        "default",
        "--queue",
        "gpu",
        "--concurrency",
        "3",
        "--grace",
        "2",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            preexec_fn=_stop_with_parent,  # noqa: PLW1509 (started before the feeder thread)
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _stop_with_parent() -> None:
    """Linux: SIGTERM the agent when the demo dies, however it dies (a closed SSH
    session's SIGHUP included), so no agent outlives its temporary database."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def _feeder(db: str, pipelines: list[str]) -> Iterator[None]:
    """Enqueue a new run of a random demo pipeline every 20-40 seconds."""
    stop = threading.Event()

    def feed() -> None:
        store = open_store(db)
        rng = random.Random()
        try:
            while not stop.wait(rng.uniform(*NEW_RUN_EVERY)):
                with contextlib.suppress(Exception):
                    ops.new_run(
                        store,
                        rng.choice(pipelines),
                        user="demo-feeder",
                        tags=rng.sample(("sweep", "nightly", "debug"), 1),
                    )
        finally:
            store.dispose()

    thread = threading.Thread(target=feed, name="demo-feeder", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()

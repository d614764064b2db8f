"""A real `mlflow server` for the tests (SQLite backend store, 127.0.0.1, a free port),
run from the separate venv RUNS_TUI_TEST_MLFLOW names (its bin folder: `.ci/run` makes
it), and the seeding script (`data/mlflow_seed.py`) run with that venv's python.
Tests skip, saying why, when the venv is absent.

One server serves a whole session: each test instance is a prefix of experiment names
(`mlflow+http://...?prefix=P`), since a server takes seconds to start. Its seeding runs
in one process of that python kept for the session (`Seeder`): the contract tests seed
a fresh instance many times.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ENV = "RUNS_TUI_TEST_MLFLOW"
SEED = Path(__file__).parent / "data" / "mlflow_seed.py"
START_WITHIN = 180.0


def mlflow_bin() -> Path:
    """The venv's bin folder, or skip the test saying why."""
    folder = os.environ.get(ENV)
    if not folder or not (Path(folder) / "mlflow").exists():
        pytest.skip(f"{ENV} does not name a venv bin folder with mlflow (.ci/run makes one)")
    return Path(folder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`mlflow server` in a process group of its own (stopped as a whole)."""

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        admin: str | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        """`admin`: the admin's password of MLflow's basic-auth app, run with nobody else
        allowed anything by default; None: no authentication. `tls`: (certificate, key):
        served over https."""
        self.folder = folder
        self.port = port or free_port()
        self.admin = admin
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None
        self.seeder: Seeder | None = None  # `seed` runs in it when set

    @property
    def http(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        bindir = mlflow_bin()
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        auth: list[str] = []
        if self.admin is not None:
            config = self.folder / "auth.ini"
            config.write_text(
                "[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
                f"database_uri = sqlite:///{self.folder / 'auth.db'}\n"
                f"admin_username = admin\nadmin_password = {self.admin}\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            )
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(config)
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = "runs-tui-tests"  # CSRF, asked for
            auth = ["--app-name", "basic-auth"]
        if self.tls is not None:
            cert, key = self.tls
            auth += ["--uvicorn-opts", f"--ssl-certfile {cert} --ssl-keyfile {key}"]
        log = (self.folder / "server.log").open("ab")
        # A shell leads the process group and ends it once this process is gone (killed
        # without running its exit handlers): no server outlives the tests.
        watch = f'"$@" & while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; kill 0'
        self.proc = subprocess.Popen(
            [
                "sh",
                "-c",
                watch,
                "sh",
                str(bindir / "mlflow"),
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.folder / 'mlflow.db'}",
                "--default-artifact-root",
                str(self.folder / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                *auth,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()
        trusted = ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else None
        deadline = time.monotonic() + START_WITHIN
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.http + "/health", timeout=2, context=trusted) as r,
            ):
                if r.status == 200:
                    return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"mlflow server did not answer within {START_WITHIN:g} s")

    def log_tail(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.seeder is not None:
            self.seeder.close()
            self.seeder = None
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(20)
        self.proc = None


@contextlib.contextmanager
def running(folder: Path, port: int | None = None) -> Iterator[Server]:
    server = Server(folder, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


SEED_TIMEOUT = 1800.0


def seed(server: Server, *args: str) -> None:
    """Run the seeding script against `server` with the mlflow venv's python: in the
    server's `Seeder` when it has one, else in a process of its own."""
    if server.seeder is not None:
        server.seeder.run(server.http, *args)
        return
    python = mlflow_bin() / "python"
    done = subprocess.run(
        [str(python), str(SEED), server.http, *args],
        capture_output=True,
        text=True,
        timeout=SEED_TIMEOUT,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"seeding failed: {done.stderr[-3000:]}")


# The seeding script's `main(argv)` once a line of JSON argv on stdin, answered by a line
# of JSON on the original stdout (the script's own output goes to stderr, the log).
_SEEDER = """
import json, os, sys, traceback
reply = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.path.insert(0, sys.argv[1])
import mlflow_seed
for line in sys.stdin:
    try:
        mlflow_seed.main(json.loads(line))
        answer = {"ok": True}
    except BaseException:
        answer = {"ok": False, "error": traceback.format_exc()[-3000:]}
    reply.write(json.dumps(answer) + "\\n")
    reply.flush()
"""


class Seeder:
    """The seeding script in one process of the mlflow venv's python, for many seedings:
    the same `main(argv)` as `python mlflow_seed.py ARGV`, without starting a python
    each time. It ends when its stdin does (this process gone) or at `close`."""

    def __init__(self, folder: Path) -> None:
        self.log = folder / "seeder.log"
        self.lock = threading.Lock()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(mlflow_bin() / "python"), "-c", _SEEDER, str(SEED.parent)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def run(self, *argv: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self.lock:
            self.proc.stdin.write(json.dumps(argv) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], SEED_TIMEOUT)
            line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"seeding failed (the seeder ended or hung): {tail}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(f"seeding failed: {answer['error']}")

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def seed_spec(server: Server, spec: dict[str, Any], folder: Path) -> dict[str, str]:
    name = uuid.uuid4().hex[:8]
    given, out = folder / f"spec-{name}.json", folder / f"ids-{name}.json"
    given.write_text(json.dumps(spec))
    seed(server, "spec", str(given), str(out))
    ids: dict[str, str] = json.loads(out.read_text())
    return ids


def seed_random(server: Server, count: int, prefix: str, folder: Path) -> dict[str, Any]:
    out = folder / f"random-{prefix or 'all'}.json"
    seed(server, "random", str(count), prefix, str(out))
    logged: dict[str, Any] = json.loads(out.read_text())
    return logged


def rest(http: str, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A REST call made directly (not through runs-tui): what the server holds."""
    url = f"{http}/api/2.0/mlflow/{method}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        got: dict[str, Any] = json.loads(r.read())
        return got


_shared: Server | None = None


def shared_server() -> Server:
    """The session's server, started on first use, stopped (and its folder removed) at
    exit: one per test process."""
    global _shared  # noqa: PLW0603
    if _shared is None:
        folder = Path(tempfile.mkdtemp(prefix="runs-tui-mlflow-"))
        server = Server(folder)
        server.start()
        server.seeder = Seeder(folder)
        _shared = server
        atexit.register(shutil.rmtree, folder, True)
        atexit.register(server.stop)
    return _shared

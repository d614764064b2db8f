"""Credentials, refusals and https: a real MLflow server running its basic-auth app. No
credentials, or wrong ones, are a 401 naming the variables to set; a user allowed
nothing is a 403 with the server's words; the admin's credentials read. A server that
takes the connection and never answers is a timeout, in one line. Over https, the
server's certificate is trusted through MLFLOW_TRACKING_SERVER_CERT_PATH (or not checked
with MLFLOW_TRACKING_INSECURE_TLS=true), and an unknown one is refused, in one line."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow_support import Server, mlflow_bin

from runs_tui.core.records import RunQuery
from runs_tui.core.source import SourceError
from runs_tui.sources import open_source
from runs_tui.sources.mlflow_client import Client, endpoint_of

ADMIN = "admin-Pass-2026-x"
VIEWER = "viewer-Pass-2026-x"
VARS = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    python = mlflow_bin() / "python"
    probe = subprocess.run([python, "-c", "import flask_wtf"], check=False, capture_output=True)
    if probe.returncode:
        pytest.skip("the mlflow venv has no basic-auth app: pip install 'mlflow[auth]' there")
    running = Server(tmp_path, admin=ADMIN)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def as_user(monkeypatch: pytest.MonkeyPatch, user: str | None, password: str = "") -> None:
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    if user is not None:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)


def test_credentials_from_the_environment(server: Server, monkeypatch: pytest.MonkeyPatch):
    url = f"mlflow+{server.http}"
    as_user(monkeypatch, None)
    hint = r"401 needs credentials \(MLFLOW_TRACKING_TOKEN or _USERNAME/_PASSWORD\)"
    with pytest.raises(SourceError, match=hint):
        open_source(url).pipelines()
    as_user(monkeypatch, "admin", "not-the-password")
    with pytest.raises(SourceError, match=hint):
        open_source(url).pipelines()

    as_user(monkeypatch, "admin", ADMIN)
    admin = open_source(url)
    client = admin.client  # type: ignore[attr-defined]
    client.post("experiments/create", {"name": "secret"})
    client.post("users/create", {"username": "viewer", "password": VIEWER})
    (secret,) = [p for p in admin.pipelines(counted=False) if p.name == "secret"]
    made = client.post("runs/create", {"experiment_id": str(secret.id), "start_time": 1})
    run_id = made["run"]["info"]["run_id"]
    assert [r.id for r in admin.window(RunQuery(secret.id))] == [run_id]

    as_user(monkeypatch, "viewer", VIEWER)
    viewer = open_source(url)
    assert [p.name for p in viewer.pipelines(counted=False)] == [], "hidden by the server"
    with pytest.raises(SourceError, match=r"403 not allowed: .*ermission") as refused:
        viewer.client.post(  # type: ignore[attr-defined]
            "runs/set-tag", {"run_id": run_id, "key": "k", "value": "v"}
        )
    assert "\n" not in str(refused.value)


def test_a_server_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as quiet:  # takes connections (the backlog), never reads them
        quiet.bind(("127.0.0.1", 0))
        quiet.listen(4)
        port = quiet.getsockname()[1]
        client = Client(endpoint_of(f"http://127.0.0.1:{port}"), timeout=0.5)
        with pytest.raises(SourceError, match=rf"127.0.0.1:{port}: no answer within 0.5 s"):
            client.post("experiments/search", {"max_results": 1})


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_with_the_servers_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    tls = self_signed(tmp_path)
    secure = Server(tmp_path, tls=tls)
    secure.start()
    try:
        url = f"mlflow+{secure.http}"
        assert url.startswith("mlflow+https://")
        for name in ("MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_INSECURE_TLS"):
            monkeypatch.delenv(name, raising=False)
        trust = "certificate is not trusted .*: MLFLOW_TRACKING_SERVER_CERT_PATH names"
        with pytest.raises(SourceError, match=trust) as unknown:
            open_source(url).pipelines(counted=False)
        assert "\n" not in str(unknown.value)
        monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(tls[0]))
        assert [p.name for p in open_source(url).pipelines(counted=False)] == ["Default"]
        monkeypatch.delenv("MLFLOW_TRACKING_SERVER_CERT_PATH")
        monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
        assert [p.name for p in open_source(url).pipelines(counted=False)] == ["Default"]
    finally:
        secure.stop()

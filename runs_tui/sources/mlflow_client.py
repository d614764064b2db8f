"""A thin client for an MLflow tracking server's REST API (`/api/2.0/mlflow/...`).

Plain `http.client` with one kept-alive connection per thread, not the `mlflow` package
(whose import alone takes seconds). Every failure becomes `SourceError` with the
server's own message, or `MlflowRefused` when the server answered and said no (a run
that does not exist, a bad value), so callers can tell "down" from "not found".
Authentication comes from MLflow's usual environment variables.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from runs_tui.core.source import SourceError
from runs_tui.core.text import one_line

API = "/api/2.0/mlflow/"
TIMEOUT = 30.0
Json = dict[str, Any]


class MlflowRefused(SourceError):
    """The server answered with an error: `code` is MLflow's error code (e.g.
    RESOURCE_DOES_NOT_EXIST), `status` the HTTP status."""

    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Endpoint:
    """Where the server is: scheme, host, port and the path before `/api`."""

    scheme: str
    host: str
    port: int | None
    base: str

    @property
    def shown(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{self.host}{port}{self.base}"


def endpoint_of(url: str) -> Endpoint:
    """`http://host:5000/prefix` (after `mlflow+`); ValueError names a bad one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an MLflow server URL: {url!r} (expected mlflow+http://HOST:PORT)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    return Endpoint(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))


def auth_header() -> str | None:
    """MLFLOW_TRACKING_TOKEN (bearer), else MLFLOW_TRACKING_USERNAME and _PASSWORD (basic)."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return f"Bearer {token}"
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        raw = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return f"Basic {raw}"
    return None


def _tls() -> ssl.SSLContext:
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        return ssl._create_unverified_context()
    return ssl.create_default_context(cafile=os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"))


class Client:
    """Calls to one server; safe to share between threads (a connection each)."""

    def __init__(self, endpoint: Endpoint, timeout: float = TIMEOUT) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._auth = auth_header()
        self._local = threading.local()
        self._by_thread: dict[int, http.client.HTTPConnection] = {}
        self.calls: dict[str, int] = {}  # calls made, by method: what benches count

    def close(self) -> None:
        """Close this thread's connection (the next call opens another)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._by_thread.pop(threading.get_ident(), None)

    def interrupt(self, thread: int) -> None:
        """Cut that thread's connection: its call under way fails with SourceError."""
        conn = self._by_thread.get(thread)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _conn(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            e = self.endpoint
            if e.scheme == "https":
                conn = http.client.HTTPSConnection(
                    e.host, e.port, timeout=self.timeout, context=_tls()
                )
            else:
                conn = http.client.HTTPConnection(e.host, e.port, timeout=self.timeout)
            self._local.conn = conn
            self._by_thread[threading.get_ident()] = conn
        return conn

    def get(self, method: str, **params: Any) -> Json:
        query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        return self._call("GET", method + (f"?{query}" if query else ""), None)

    def post(self, method: str, body: Json) -> Json:
        return self._call("POST", method, json.dumps(body).encode())

    def _call(self, verb: str, method: str, body: bytes | None) -> Json:
        name = method.split("?", 1)[0]
        self.calls[name] = self.calls.get(name, 0) + 1
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._auth:
            headers["Authorization"] = self._auth
        path = self.endpoint.base + API + method
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more
            conn = self._conn()
            try:
                conn.request(verb, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise SourceError(f"{self.endpoint.shown}: the connection was closed") from None
            except TimeoutError:
                self.close()
                raise SourceError(
                    f"{self.endpoint.shown}: no answer within {self.timeout:g} s"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise SourceError(f"{self.endpoint.shown}: {_why(exc)}") from None
        if response.status >= 400:
            raise _refused(self.endpoint, response.status, response.reason, data)
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            raise SourceError(f"{self.endpoint.shown}: the answer is not JSON") from None
        return parsed if isinstance(parsed, dict) else {}


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "not reachable (connection refused)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS: the server's certificate is not trusted ({exc.verify_message}): "
            "MLFLOW_TRACKING_SERVER_CERT_PATH names a CA or certificate to trust"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    return one_line(str(exc) or type(exc).__name__, limit=200)


def _refused(endpoint: Endpoint, status: int, reason: str, data: bytes) -> MlflowRefused:
    """The server's error in its words: MLflow's JSON `message`, else the body's first line."""
    code, message = "", ""
    try:
        parsed = json.loads(data)
        if isinstance(parsed, dict):
            code = str(parsed.get("error_code") or "")
            message = str(parsed.get("message") or "")
    except ValueError:
        message = data.decode("utf-8", "replace").strip().splitlines()[0] if data.strip() else ""
    if status in (401, 403):
        lead = "not allowed" if status == 403 else "needs credentials"
        hint = "" if status == 403 else " (MLFLOW_TRACKING_TOKEN or _USERNAME/_PASSWORD)"
        text = f"{endpoint.shown}: {status} {lead}{hint}"
    else:
        text = f"{endpoint.shown}: {status} {reason}"
    if message:
        text += f": {message}"
    return MlflowRefused(one_line(text, limit=300), code, status)


def path_quote(value: str) -> str:
    return quote(value, safe="")

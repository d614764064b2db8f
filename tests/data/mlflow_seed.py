"""Fill an MLflow tracking server with runs through its REST API, with the requests the
`mlflow` client makes for them (MlflowClient's create_run, log_batch, set_terminated /
update_run, delete_run: the same endpoints and bodies, without the extra get_run those
two make to print a link or read the old end time, nor its per-call overhead), and say
what was logged. Run with the test venv's python (RUNS_TUI_TEST_MLFLOW/python).

    python mlflow_seed.py URI spec IN.json OUT.json
        the runs IN.json describes (experiments, runs with their times, status, user,
        version, tags, params, metric points, nested runs, deleted or not); OUT.json
        gets {key: run_id}
    python mlflow_seed.py URI random N PREFIX OUT.json [--threads T]
        N runs in 2 experiments (PREFIX + "vision", PREFIX + "text"): params, metrics
        over 100 steps, tags, nested runs, every status, some deleted; OUT.json gets
        every run as logged (ids, names, times, status, user, tags, params, points)
        for the tests' brute-force model.
"""

from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

T0 = 1_764_000_000_000  # ms
MAX_METRICS_PER_BATCH = 1000  # the client's chunk (mlflow.utils.validation)


class Client:
    """POSTs to the server's REST API (/api/2.0/mlflow/...), one kept connection a
    thread; a call the server answers with 429 or 5xx, or a dropped connection, is
    retried a few times, as the mlflow client does."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"an http:// tracking URI is needed, not {uri!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        return conn

    def post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        for attempt in range(6):
            conn = self._conn()
            try:
                conn.request("POST", f"/api/2.0/mlflow/{method}", data, headers)
                response = conn.getresponse()
                text = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 5:
                    raise
                if attempt == 0:
                    continue  # a kept connection the server had closed: at once, anew
            else:
                if response.status == 200:
                    got: dict[str, Any] = json.loads(text or b"{}")
                    return got
                if (response.status != 429 and response.status < 500) or attempt == 5:
                    raise RuntimeError(f"{method}: HTTP {response.status}: {text[:2000]!r}")
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def create_experiment(self, name: str) -> str:
        experiment_id: str = self.post("experiments/create", {"name": name})["experiment_id"]
        return experiment_id


def log_run(client: Client, exp: str, run: dict[str, Any], parent: str | None) -> str:
    tags = {"mlflow.user": run["user"], **run.get("tags", {})}
    if run.get("version"):
        tags["mlflow.source.git.commit"] = run["version"]
    if parent:
        tags["mlflow.parentRunId"] = parent
    made = client.post(
        "runs/create",
        {
            "experiment_id": str(exp),
            "user_id": run["user"],
            "run_name": run["name"],
            "start_time": run["start"],
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        },
    )
    rid: str = made["run"]["info"]["run_id"]
    metrics = [
        {"key": key, "value": float(value), "timestamp": run["start"] + step, "step": step}
        for key, points in run.get("metrics", {}).items()
        for step, value in points
    ]
    params = [{"key": k, "value": v} for k, v in run.get("params", {}).items()]
    for n in range(0, max(len(metrics), 1), MAX_METRICS_PER_BATCH):
        batch: dict[str, Any] = {"run_id": rid}
        if metrics[n : n + MAX_METRICS_PER_BATCH]:
            batch["metrics"] = metrics[n : n + MAX_METRICS_PER_BATCH]
        if params and n == 0:
            batch["params"] = params
        if len(batch) > 1:  # the client sends nothing for an empty batch
            client.post("runs/log-batch", batch)
    status = run["status"]
    if run.get("end") is not None:  # set_terminated(rid, status, end_time=end)
        client.post(
            "runs/update",
            {"run_uuid": rid, "run_id": rid, "status": status, "end_time": run["end"]},
        )
    elif status != "RUNNING":  # update_run(rid, status=status): the end time unset, as it was
        client.post("runs/update", {"run_uuid": rid, "run_id": rid, "status": status})
    for child in run.get("children", []):
        log_run(client, exp, child, rid)
    if run.get("deleted"):
        client.post("runs/delete", {"run_id": rid})
    return rid


def spec(client: Client, path: str, out: str) -> None:
    with open(path) as f:
        data = json.load(f)
    exps = {name: client.create_experiment(name) for name in data["experiments"]}
    ids = {run["key"]: log_run(client, exps[run["experiment"]], run, None) for run in data["runs"]}
    with open(out, "w") as f:
        json.dump(ids, f)


STATUSES = ("SCHEDULED", "RUNNING", "FINISHED", "FAILED", "KILLED")


def random_run(rng: random.Random, n: int, exp: str) -> dict[str, Any]:
    status = STATUSES[n % 5] if n % 7 else "FINISHED"
    start = T0 + n * 60_000 + rng.randrange(1000)
    done = status in ("FINISHED", "FAILED", "KILLED")
    steps = 0 if status == "SCHEDULED" else 100
    base = rng.uniform(0.5, 2.0)
    loss = [[s, round(base / (1 + s * rng.uniform(0.01, 0.1)) + rng.uniform(0, 0.05), 6)]
            for s in range(steps)]  # fmt: skip
    acc = [[s, round(min(1.0, rng.uniform(0.3, 0.6) + s * rng.uniform(0, 0.005)), 6)]
           for s in range(steps)]  # fmt: skip
    metrics = {"loss/train": loss, "acc": acc} if steps else {}
    if steps and n % 3:
        metrics["loss/val"] = [[s, v + rng.uniform(0, 0.1)] for s, v in loss[::10]]
    params = {
        "lr": rng.choice(["0.1", "0.01", "0.001", "0.0003"]),
        "batch": rng.choice(["32", "64", "128"]),
        "optimizer": rng.choice(["adam", "sgd", "AdamW"]),
    }
    if n % 5 == 0:
        params["optim/momentum"] = rng.choice(["0.9", "0.99"])
    tags = {t: "" for t in rng.sample(["sweep", "best", "baseline", "ablation"], rng.randrange(3))}
    if n % 4 == 0:
        tags["team"] = rng.choice(["vision", "nlp"])
    run: dict[str, Any] = {
        "key": f"r{n}",
        "experiment": exp,
        "name": f"run-{n}" if n % 10 else "",
        "start": start,
        "end": start + rng.randrange(10_000, 900_000) if done else None,
        "status": status,
        "user": rng.choice(["alice", "bob", "carol"]),
        "version": rng.choice(["a1b2c3d", "e4f5a6b", ""]),
        "tags": tags,
        "params": params,
        "metrics": metrics,
        "deleted": n % 9 == 4,
        "children": [],
    }
    if n % 25 == 0:
        run["children"] = [
            {
                "name": step,
                "start": start + i,
                "end": None,
                "status": "RUNNING",
                "user": run["user"],
            }
            for i, step in enumerate(("prepare", "fit"))
        ]
    return run


def random_runs(client: Client, count: int, prefix: str, out: str, threads: int) -> None:
    rng = random.Random(15)
    names = [prefix + "vision", prefix + "text"]
    exps = {name: client.create_experiment(name) for name in names}
    runs = [random_run(rng, n, names[n % 2]) for n in range(count)]

    def one(run: dict[str, Any]) -> None:
        run["id"] = log_run(client, exps[run["experiment"]], run, None)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, runs))
    with open(out, "w") as f:
        json.dump({"experiments": exps, "runs": runs}, f)


def main(argv: list[str]) -> None:
    client = Client(argv[0])
    if argv[1] == "spec":
        spec(client, argv[2], argv[3])
    else:
        threads = int(argv[argv.index("--threads") + 1]) if "--threads" in argv else 4
        random_runs(client, int(argv[2]), argv[3], argv[4], threads)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Fill an MLflow tracking server with runs through the `mlflow` client (run with the
test venv's python: RUNS_TUI_TEST_MLFLOW/python), and say what was logged.

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

import json
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

T0 = 1_764_000_000_000  # ms


def log_run(client: MlflowClient, exp: str, run: dict[str, Any], parent: str | None) -> str:
    tags = {"mlflow.user": run["user"], **run.get("tags", {})}
    if run.get("version"):
        tags["mlflow.source.git.commit"] = run["version"]
    if parent:
        tags["mlflow.parentRunId"] = parent
    made = client.create_run(exp, start_time=run["start"], tags=tags, run_name=run["name"])
    rid = made.info.run_id
    metrics = [
        Metric(key, value, run["start"] + step, step)
        for key, points in run.get("metrics", {}).items()
        for step, value in points
    ]
    params = [Param(k, v) for k, v in run.get("params", {}).items()]
    for n in range(0, max(len(metrics), 1), 1000):
        client.log_batch(rid, metrics=metrics[n : n + 1000], params=params if n == 0 else [])
    status = run["status"]
    if run.get("end") is not None:
        client.set_terminated(rid, status, end_time=run["end"])
    elif status != "RUNNING":
        client.update_run(rid, status=status)
    for child in run.get("children", []):
        log_run(client, exp, child, rid)
    if run.get("deleted"):
        client.delete_run(rid)
    return rid


def spec(client: MlflowClient, path: str, out: str) -> None:
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


def random_runs(client: MlflowClient, count: int, prefix: str, out: str, threads: int) -> None:
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
    client = MlflowClient(tracking_uri=argv[0])
    if argv[1] == "spec":
        spec(client, argv[2], argv[3])
    else:
        threads = int(argv[argv.index("--threads") + 1]) if "--threads" in argv else 4
        random_runs(client, int(argv[2]), argv[3], argv[4], threads)


if __name__ == "__main__":
    main(sys.argv[1:])

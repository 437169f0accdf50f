"""HTTP latency and throughput of a real `miles serve` on 127.0.0.1, and a bounded 50-client locust run.

Targets (issue 7): title-only prediction p50 <= 20 ms; locust 50 clients x 60 s with zero errors.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
LOCUST_USERS = 50
LOCUST_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MILES_DATA_DIR": str(data_dir),
        "MILES_RATE_LIMIT_PER_MINUTE": "1000000",
        "MILES_CACHE_DIR": os.environ.get("MILES_CACHE_DIR", str(data_dir / "cache")),
    }
    subprocess.run([sys.executable, "-m", "miles.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
    with (data_dir / "server.log").open("wb") as log:  # the child keeps its own handle
        proc = subprocess.Popen(
            [sys.executable, "-m", "miles.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    tail = (data_dir / "server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"miles serve did not start within 60 s:\n{tail}")


def _latency(client: httpx.Client, n: int = 200) -> dict[str, float]:
    # The first prediction builds the ONNX text encoder (tens of seconds on a cold cache): not measured.
    client.post("/api/v1/predict", json={"title": "warm-up"}, timeout=300).raise_for_status()
    times = []
    for i in range(n):
        start = time.perf_counter()
        client.post("/api/v1/predict", json={"title": f"How I cook rice in {i} seconds", "duration_s": 30})
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "n": n,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * n)], 2),
        "target_p50_ms": 20,
    }


def _batch(client: httpx.Client, size: int = 500) -> dict[str, float]:
    items = [{"title": f"Batch draft number {i}", "duration_s": 15 + i % 60} for i in range(size)]
    start = time.perf_counter()
    client.post("/api/v1/predict/batch", json={"items": items}, timeout=120).raise_for_status()
    seconds = time.perf_counter() - start
    return {"items": size, "seconds": round(seconds, 3), "videos_per_s": round(size / seconds)}


def _locust(port: int, out_dir: Path) -> dict[str, Any]:
    prefix = out_dir / "locust"
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "-u",
        str(LOCUST_USERS),
        "-r",
        str(LOCUST_USERS),
        "-t",
        f"{LOCUST_SECONDS}s",
        "--stop-timeout",
        "30",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
    ]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=LOCUST_SECONDS + 120)
    stats = out_dir / "locust_stats.csv"
    if not stats.is_file():
        raise RuntimeError(f"locust wrote no statistics (exit {done.returncode}): {done.stderr[-2000:]}")
    with stats.open(newline="") as f:
        total = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    with (out_dir / "locust_failures.csv").open(newline="") as f:
        failures = [
            f"{row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error']}" for row in csv.DictReader(f)
        ]
    return {
        "users": LOCUST_USERS,
        "seconds": LOCUST_SECONDS,
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "failure_reasons": failures[:5],
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "rps": round(float(total["Requests/s"]), 1),
        "target_failures": 0,
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        proc = _start(Path(tmp), port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                result: dict[str, Any] = {"latency": _latency(client), "batch": _batch(client)}
            result["locust"] = _locust(port, Path(tmp))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(result, indent=2))
    return result

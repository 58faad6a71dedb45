"""API benchmark: latency of a 1,000-draw simulation through the JSON API, and throughput under
concurrent clients, on the default dataset, all on loopback.

Run: ``.venv/bin/python benchmarks/bench_api.py [--runs 30] [--clients 20] [--per-client 5]``.

The service runs in a separate process (uvicorn, SQLite store in a temporary folder, the
default worker count). Latency is submit (POST /api/v1/runs) + polling (GET /api/v1/runs/{id}
every ``--poll`` seconds) until the run has succeeded, measured by the client. Throughput: each
of ``--clients`` threads does ``--per-client`` such cycles at once. Prints a table; exits 1 on
any error (a non-2xx answer, a failed run or a connection error).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

SERVER = """
import sys, uvicorn
from materiel.service.app import create_app
from materiel.service.settings import Settings
app = create_app(Settings(data_dir=sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_token(data_dir: Path) -> str:
    from materiel.service.settings import Settings
    from materiel.store.db import Store
    from materiel.store.users import create_user, issue_token

    store = Store(Settings(data_dir=data_dir).database_url)
    store.migrate()
    with store.session() as s:
        user = create_user(s, "bench", "bench-password-1", "analyst")
        token = issue_token(s, user, "bench")
    store.dispose()
    return token


RUN_SECONDS: list[float] = []
"""Time each run spent executing in the service (started -> finished), from the run record."""


def cycle(client: httpx.Client, draws: int, poll: float) -> float:
    """Submit one simulation and poll it to the end; seconds taken. Raises on any error."""
    t0 = time.perf_counter()
    r = client.post("/api/v1/runs", json={"scenario": "imposed-deal", "draws": draws})
    r.raise_for_status()
    run_id = r.json()["id"]
    while True:
        body = client.get(f"/api/v1/runs/{run_id}")
        body.raise_for_status()
        status = body.json()["status"]
        if status == "succeeded":
            elapsed = time.perf_counter() - t0
            run = body.json()
            started, finished = (
                datetime.fromisoformat(run[k]) for k in ("started_at", "finished_at")
            )
            RUN_SECONDS.append((finished - started).total_seconds())
            return elapsed
        if status == "failed":
            raise RuntimeError(f"run {run_id} failed: {body.json()['error']}")
        time.sleep(poll)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30, help="sequential runs for latency")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=5)
    parser.add_argument("--poll", type=float, default=0.02, help="poll interval, seconds")
    parser.add_argument(
        "--load-poll", type=float, default=0.25, help="poll interval of the concurrent clients"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="materiel-bench-"))
    token = make_token(tmp)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp), str(port)])
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/v1/openapi.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            for _ in range(2):  # warm-up: dataset load, imports, caches
                cycle(client, args.draws, args.poll)
            RUN_SECONDS.clear()
            latency = [cycle(client, args.draws, args.poll) for _ in range(args.runs)]
            executing = list(RUN_SECONDS)

        errors: list[str] = []
        loaded: list[float] = []
        lock = threading.Lock()

        def worker() -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=300) as c:
                for _ in range(args.per_client):
                    try:
                        seconds = cycle(c, args.draws, args.load_poll)
                        with lock:
                            loaded.append(seconds)
                    except Exception as e:  # counted, reported, and fail the benchmark
                        with lock:
                            errors.append(f"{type(e).__name__}: {e}")

        RUN_SECONDS.clear()
        threads = [threading.Thread(target=worker) for _ in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(10)

    total = args.clients * args.per_client
    rows = [
        ("sequential runs", f"{len(latency)}"),
        ("latency p50 (submit + poll)", f"{statistics.median(latency):.3f} s"),
        ("latency p95", f"{pct(latency, 0.95):.3f} s  (target < 1 s)"),
        ("latency max", f"{max(latency):.3f} s"),
        ("  of which executing (p50)", f"{statistics.median(executing):.3f} s: engine + summary"),
        (
            "  service overhead (p50)",
            f"{statistics.median(latency) - statistics.median(executing):.3f} s: HTTP, store, poll",
        ),
        (f"concurrent: {args.clients} clients x {args.per_client}", f"{total} runs"),
        ("throughput", f"{len(loaded) / elapsed:.2f} runs/s ({elapsed:.1f} s)"),
        (
            "latency under load p50 / p95",
            f"{statistics.median(loaded):.2f} s / {pct(loaded, 0.95):.2f} s" if loaded else "-",
        ),
        (
            "executing under load p50",
            f"{statistics.median(RUN_SECONDS):.2f} s" if RUN_SECONDS else "-",
        ),
        ("errors", f"{len(errors)}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(
        f"materiel API benchmark: {args.draws:,} draws, imposed-deal, default dataset, "
        f"{os.cpu_count()} CPUs, loopback"
    )
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    for e in errors[:5]:
        print(f"  error: {e}")
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

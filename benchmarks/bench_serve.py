"""Load test of ``aekit serve``: throughput and p50/p99 latency of ``vanilla`` encode at 1, 8 and 32 clients,
then a flood of malformed requests, after which the server must still answer.

The server is ``python -m aekit serve`` in its own process on 127.0.0.1; the
clients are asyncio tasks sharing one ``httpx.AsyncClient`` in this process,
each sending one request at a time (one test image per request by default)
for ``--seconds``. Client and server share the machine's cores, so the CPU
seconds the server used per request are printed too, and the load other
processes put on the machine while each level ran.

    python benchmarks/bench_serve.py                    # trains vanilla for 1 epoch on the bundled sample
    python benchmarks/bench_serve.py --run runs/vanilla --seconds 20 --batch 32
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ChildLoadMeter, _own_cpu, _pid_cpu, fmt_load, header  # noqa: E402

MALFORMED = [  # (content-type, body): every one must get a 4xx
    ("application/json", b'{"inputs": [[0.1, 0.2'), ("application/json", b'{"inputs": [[NaN]]}'),
    ("application/json", b"[1, 2, 3]"), ("application/json", b'{"inputs": [["a"]]}'),
    ("application/json", b'{"inputs": [[1], [1, 2]]}'), ("application/json", b'{"nothing": 1}'),
    ("application/x-npy", b"\x93NUMPY\x01\x00garbage"), ("image/png", b"\x89PNG\r\n\x1a\nbroken"),
    ("text/plain", b"hello"), ("application/json", b"{" * 5000),
]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def drive(url: str, body: bytes, clients: int, seconds: float) -> tuple[list[float], int]:
    """``clients`` tasks posting ``body`` back to back for ``seconds``: latencies (s) of 200s, and other answers."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        stop = time.perf_counter() + seconds

        async def one_client() -> None:
            nonlocal failures
            while time.perf_counter() < stop:
                t = time.perf_counter()
                answer = await client.post(url, content=body, headers={"content-type": "application/json"})
                if answer.status_code == 200:
                    latencies.append(time.perf_counter() - t)
                else:
                    failures += 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies, failures


async def flood(base: str, count: int, clients: int) -> dict[int, int]:
    """``count`` malformed requests from ``clients`` tasks; how many got each status."""
    statuses: dict[int, int] = {}
    queue = list(range(count))
    async with httpx.AsyncClient(timeout=60) as client:
        async def one_client() -> None:
            while queue:
                kind, body = MALFORMED[queue.pop() % len(MALFORMED)]
                answer = await client.post(f"{base}/v1/models/vanilla/encode", content=body,
                                           headers={"content-type": kind})
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return statuses


def start_server(run: Path, port: int, threads: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "aekit", "serve", f"vanilla={run}", "--port", str(port), "--log-level", "warning",
               "--threads", str(threads)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not answer /healthz within 120 s")


def tiny_run(folder: Path) -> Path:
    import aekit

    run = folder / "vanilla"
    aekit.train_run("vanilla", "fashion-mnist-sample", run, progress=False, figures=False, epochs=1)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a vanilla run directory (default: train one on the bundled sample)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per concurrency level")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--batch", type=int, default=1, help="images per request")
    parser.add_argument("--flood", type=int, default=2000, help="malformed requests sent after the timed levels")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--threads", type=int, default=1, help="the server's torch threads")
    args = parser.parse_args()

    print(header())
    with tempfile.TemporaryDirectory() as folder:
        run = args.run or tiny_run(Path(folder))
        from aekit.runs.autoencoder import load_run_data
        from aekit.runs.saved import load_run

        rows = load_run_data(load_run(run).config.data).x_test[: args.batch]
        body = ('{"inputs": ' + str(rows.reshape(len(rows), -1).round(4).tolist()) + "}").encode()
        server = start_server(run, args.port, args.threads)
        try:
            base = f"http://127.0.0.1:{args.port}"
            url = f"{base}/v1/models/vanilla/encode"
            asyncio.run(drive(url, body, 1, 1.0))  # warm-up: first requests load lazily
            print(f"\nvanilla encode, {args.batch} image(s) per request, {args.seconds:.0f} s per level, "
                  f"server with {args.threads} torch thread(s)\n")
            print("| clients | requests | throughput (req/s) | p50 (ms) | p99 (ms) | server CPU ms/request | "
                  "client CPU ms/request | non-200 | other processes (cores) |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for clients in args.clients:
                cpu0, own0 = _pid_cpu(server.pid), _own_cpu()
                with ChildLoadMeter(server.pid) as load:
                    latencies, failures = asyncio.run(drive(url, body, clients, args.seconds))
                cpu, own = (_pid_cpu(server.pid) or 0) - (cpu0 or 0), _own_cpu() - own0
                n = len(latencies)
                print(f"| {clients} | {n} | {n / load.seconds:.1f} | {1000 * statistics.median(latencies):.1f} | "
                      f"{1000 * percentile(latencies, 99):.1f} | {1000 * cpu / max(n, 1):.2f} | {1000 * own / max(n, 1):.2f} | "
                      f"{failures} | "
                      f"{fmt_load(load.other_cores)} |")
            t = time.perf_counter()
            statuses = asyncio.run(flood(base, args.flood, 32))
            seconds = time.perf_counter() - t
            alive = httpx.get(f"{base}/healthz", timeout=10).status_code == 200
            still = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=10)
            print(f"\nflood: {args.flood} malformed requests from 32 clients in {seconds:.1f} s; statuses "
                  f"{dict(sorted(statuses.items()))}; 5xx: {sum(v for k, v in statuses.items() if k >= 500)}; "
                  f"afterwards /healthz {'answers' if alive else 'FAILS'} and encode gives {still.status_code}; "
                  f"server process {'running' if server.poll() is None else 'DEAD'}")
            print(f"load averages at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

"""Load on the HTTP API: 32 concurrent clients on /api/retrieve for 60 s, against a real ``qa serve``.

    python bench/load.py [--clients 32] [--seconds 60] [--index-dir DIR]

Starts ``qa serve`` on a free loopback port over the index (default: the checkout's index/, built from
corpus/ when missing), drives it with CLIENTS threads (each a keep-alive connection asking the questions
of tests/corpus_qa.jsonl in turn) for SECONDS, and stops by itself. Prints throughput, p50/p95/p99
latency, and the answers by status: 200, deliberate 503 (queue full, with Retry-After) and anything else
(errors). Side by side: the same questions through ``Retriever.retrieve`` in-process on one thread, the
baseline without HTTP. No question is asked twice (a running number is appended), so no answer comes
from qa's cache of recent question vectors; the sentences of cited passages stay cached, as in use.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def questions() -> list[str]:
    cases = [json.loads(line) for line in (ROOT / "tests" / "corpus_qa.jsonl").read_text().splitlines() if line.strip()]
    return [c["q"] for c in cases if "q" in c]


def fresh(asked: list[str]):
    """The questions in turn, each time with a new running number: never the same text twice."""
    for n in itertools.count(1):
        yield f"{asked[(n - 1) % len(asked)]} ({n})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    qa = str(Path(sys.executable).with_name("qa"))
    proc = subprocess.Popen(
        [qa, "serve", "--port", str(port), "--index-dir", str(index_dir), "--no-uploads"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not come up")


def client(port: int, stop: float, asked, out: list, lock: threading.Lock) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while time.monotonic() < stop:
        with lock:
            question = next(asked)
        body = json.dumps({"question": question, "k": 5})
        began = time.perf_counter()
        try:
            conn.request("POST", "/api/retrieve", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            status = response.status
            if status == 503:
                time.sleep(float(response.getheader("Retry-After", "1")) / 10)  # a polite client backs off
        except (OSError, http.client.HTTPException) as e:
            status = type(e).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        out.append((status, time.perf_counter() - began))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--index-dir", type=Path, default=ROOT / "index")
    args = parser.parse_args()
    from qa.indexing.build import build_index
    from qa.indexing.manifest import MANIFEST
    from qa.retrieval.pipeline import Retriever

    if not (args.index_dir / MANIFEST).is_file():
        build_index(ROOT / "corpus", args.index_dir)
    asked = questions()

    index = Retriever.load(args.index_dir)
    index.retrieve("load the model", 5)
    began, n, latencies, local = time.perf_counter(), 0, [], fresh(asked)
    while time.perf_counter() - began < min(args.seconds, 20):
        t = time.perf_counter()
        index.retrieve(next(local), 5)
        latencies.append(time.perf_counter() - t)
        n += 1
    direct_seconds = time.perf_counter() - began
    direct = n / direct_seconds

    proc, port = start_server(args.index_dir)
    try:
        results: list = []
        lock, cycle = threading.Lock(), fresh(asked)
        stop = time.monotonic() + args.seconds
        threads = [threading.Thread(target=client, args=(port, stop, cycle, results, lock)) for _ in range(args.clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(20)

    codes = Counter(status for status, _ in results)
    ok = [s for status, s in results if status == 200]
    errors = sum(n for status, n in codes.items() if status not in (200, 503))
    ms = lambda v: f"{v * 1000:.0f}"  # noqa: E731
    print(f"{len(asked)} questions from tests/corpus_qa.jsonl, each asked anew (numbered), k=5, {os.cpu_count()} CPU cores\n")
    print("| path | clients | seconds | requests | answered/s | p50 ms | p95 ms | p99 ms | 200 | 503 (busy) | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| Retriever.retrieve in-process (baseline) | 1 | {direct_seconds:.0f} | {n} | {direct:.1f} | "
          f"{ms(percentile(latencies, .5))} | {ms(percentile(latencies, .95))} | {ms(percentile(latencies, .99))} | {n} | 0 | 0 |")  # fmt: skip
    print(f"| POST /api/retrieve over HTTP | {args.clients} | {elapsed:.0f} | {len(results)} | {len(ok) / elapsed:.1f} | "
          f"{ms(percentile(ok, .5))} | {ms(percentile(ok, .95))} | {ms(percentile(ok, .99))} | {codes[200]} | {codes[503]} | {errors} |")  # fmt: skip
    print(f"\nratio (HTTP answered/s ÷ in-process/s): {len(ok) / elapsed / direct:.2f}×")
    if errors:
        print("errors:", {k: v for k, v in codes.items() if k not in (200, 503)})


if __name__ == "__main__":
    main()

"""Load on the HTTP API (32 clients on /api/retrieve for 60 s, against a real qa serve) and where the time goes.

    python bench/load.py [--clients 32] [--seconds 60] [--index-dir DIR | --corpus DIR] [--questions FILE] [--rerank cross-encoder,none]

Starts ``qa serve`` on a free loopback port over the index (default: the checkout's index/, built from
corpus/ when missing; ``--corpus``: an index of that folder, built in a temporary one), drives it with
CLIENTS threads (each a keep-alive connection asking the questions of tests/corpus_qa.jsonl, or of
``--questions``, in turn) for SECONDS, and stops by itself. Prints throughput, p50/p95/p99 latency, and
the answers by status: 200, deliberate 503 (queue full, with Retry-After) and anything else (errors).
Side by side: the same questions through ``Retriever.retrieve`` in-process on one thread, the baseline
without HTTP, and over HTTP with one client (what HTTP adds without any waiting).

Then the breakdown: milliseconds per answer in each stage (``qa.timing``), in-process and as
the server reports them in its ``Server-Timing`` header, and what is left of the client's latency (HTTP,
the framework, waiting for a worker). No question is asked twice (a running number is appended), so no
answer comes from qa's cache of recent question vectors; the sentences of cited passages stay cached,
as in use. The CPU and its int8 instructions are named. All of it once per re-ranker of ``--rerank``
(default: the cross-encoder, then none), side by side.
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
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from machine import describe  # noqa: E402
from qa.timing import STAGES, recorded  # noqa: E402

SERVER_ONLY = ("json",)  # stages only the server has (the in-process row times the same JSON itself)


def questions(path: Path) -> list[str]:
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [c["q"] for c in cases if "q" in c]


def fresh(asked: list[str]):
    """The questions in turn, each time with a new running number: never the same text twice."""
    for n in itertools.count(1):
        yield f"{asked[(n - 1) % len(asked)]} ({n})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, rerank: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    qa = str(Path(sys.executable).with_name("qa"))
    proc = subprocess.Popen(
        [qa, "serve", "--port", str(port), "--index-dir", str(index_dir), "--no-uploads"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "QA_SERVER_TIMING": "1", "QA_RERANK": rerank},
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
        began, timing = time.perf_counter(), {}
        try:
            conn.request("POST", "/api/retrieve", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            status = response.status
            timing = parse_timing(response.getheader("Server-Timing", ""))
            if status == 503:
                time.sleep(float(response.getheader("Retry-After", "1")) / 10)  # a polite client backs off
        except (OSError, http.client.HTTPException) as e:
            status = type(e).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        out.append((status, time.perf_counter() - began, timing))


def parse_timing(header: str) -> dict[str, float]:
    """``embed;dur=1.20, bm25;dur=0.31`` → seconds per stage."""
    spent = {}
    for part in filter(None, (p.strip() for p in header.split(","))):
        name, _, dur = part.partition(";dur=")
        spent[name] = float(dur) / 1000
    return spent


def load(port: int, clients: int, seconds: float, asked) -> tuple[list, float]:
    results: list = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(port, stop, asked, results, lock)) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--index-dir", type=Path, default=None)
    parser.add_argument("--corpus", type=Path, default=None, help="index this folder (in a temporary one) instead")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "corpus_qa.jsonl")
    parser.add_argument("--rerank", default="cross-encoder,none", help="Re-rankers measured, comma-separated.")
    args = parser.parse_args()
    from qa.build import build_index
    from qa.indexing.manifest import MANIFEST

    index_dir = args.index_dir or (Path(tempfile.mkdtemp(prefix="qa-load-")) if args.corpus else ROOT / "index")
    if args.corpus or not (index_dir / MANIFEST).is_file():
        build_index(args.corpus or ROOT / "corpus", index_dir)
    print(f"CPU: {describe()}")
    for rerank in args.rerank.split(","):
        print(f"\n## re-ranker: {rerank}\n")
        measure(index_dir, rerank.strip(), args)


def measure(index_dir: Path, rerank: str, args) -> None:
    """The three paths, their table and the breakdown, with ``rerank``."""
    from qa.retrieval.pipeline import Retriever
    from qa.serve.http_api import RetrieveResponse

    asked = questions(args.questions)
    index = Retriever.load(index_dir, rerank=rerank)
    index.retrieve("load the model", 5)
    began, n, latencies, local, stages = time.perf_counter(), 0, [], fresh(asked), []
    while time.perf_counter() - began < min(args.seconds, 20):
        t = time.perf_counter()
        with recorded() as spent:
            answer = index.ask(next(local), 5)
            j = time.perf_counter()
            RetrieveResponse.model_validate(answer.retrieved()).model_dump_json()
            spent["json"] = time.perf_counter() - j
        latencies.append(time.perf_counter() - t)
        stages.append(spent)
        n += 1
    direct_seconds = time.perf_counter() - began
    direct = n / direct_seconds

    proc, port = start_server(index_dir, rerank)
    try:
        single, single_s = load(port, 1, min(args.seconds, 15), fresh([f"{q} [one]" for q in asked]))
        results, elapsed = load(port, args.clients, args.seconds, fresh(asked))
    finally:
        proc.terminate()
        proc.wait(20)

    codes = Counter(status for status, _, _ in results)
    ok = [s for status, s, _ in results if status == 200]
    one = [s for status, s, _ in single if status == 200]
    errors = sum(n for status, n in codes.items() if status not in (200, 503))
    ms = lambda v: f"{v * 1000:.0f}"  # noqa: E731
    print(f"{len(asked)} questions from {args.questions.name}, each asked anew (numbered), k=5; index of {len(index.index)} passages ({index.index.manifest.precision})\n")
    print("| path | clients | seconds | requests | answered/s | p50 ms | p95 ms | p99 ms | 200 | 503 (busy) | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| Retriever.retrieve in-process (baseline) | 1 | {direct_seconds:.0f} | {n} | {direct:.1f} | "
          f"{1000 * percentile(latencies, .5):.1f} | {ms(percentile(latencies, .95))} | {ms(percentile(latencies, .99))} | {n} | 0 | 0 |")  # fmt: skip
    print(f"| POST /api/retrieve over HTTP | 1 | {single_s:.0f} | {len(single)} | {len(one) / single_s:.1f} | "
          f"{1000 * percentile(one, .5):.1f} | {ms(percentile(one, .95))} | {ms(percentile(one, .99))} | {len(one)} | 0 | {len(single) - len(one)} |")  # fmt: skip
    print(f"| POST /api/retrieve over HTTP | {args.clients} | {elapsed:.0f} | {len(results)} | {len(ok) / elapsed:.1f} | "
          f"{ms(percentile(ok, .5))} | {ms(percentile(ok, .95))} | {ms(percentile(ok, .99))} | {codes[200]} | {codes[503]} | {errors} |")  # fmt: skip
    print(f"\nratio (HTTP answered/s at {args.clients} clients ÷ in-process/s): {len(ok) / elapsed / direct:.2f}×")
    if errors:
        print("errors:", {k: v for k, v in codes.items() if k not in (200, 503)})
    breakdown(stages, latencies, [(s, t) for status, s, t in single if status == 200],
              [(s, t) for status, s, t in results if status == 200], args.clients)


def breakdown(local: list[dict], local_latency: list[float], single: list, loaded: list, clients: int) -> None:
    """Mean milliseconds per answer in each stage, in-process and as the server timed them."""
    def mean(rows: list[dict], name: str) -> float:
        return 1000 * sum(r.get(name, 0.0) for r in rows) / max(len(rows), 1)

    one, many = [t for _, t in single], [t for _, t in loaded]
    print("\nWhere an answer's time goes (mean ms per answer; embed: the question's vector, vectors: the store's "
          "search and both scores of every candidate, settle/highlight include embedding sentences not seen lately)\n")  # fmt: skip
    print(f"| stage | in-process | HTTP, 1 client | HTTP, {clients} clients |")
    print("|---|---|---|---|")
    for name in (*STAGES, *SERVER_ONLY):
        print(f"| {name} | {mean(local, name):.2f} | {mean(one, name):.2f} | {mean(many, name):.2f} |")
    inside = 1000 * sum(local_latency) / max(len(local_latency), 1)
    print(f"| all stages (server: its handler's total) | {inside:.2f} | {mean(one, 'total'):.2f} | {mean(many, 'total'):.2f} |")
    for label, rows in (("1", single), (str(clients), loaded)):
        rest = 1000 * sum(s - t.get("total", 0.0) for s, t in rows) / max(len(rows), 1)
        print(f"| server overhead: HTTP, framework, waiting for a worker ({label} client{'s' * (label != '1')}) | – | "
              + (f"{rest:.2f} | – |" if label == "1" else f"– | {rest:.2f} |"))  # fmt: skip


if __name__ == "__main__":
    main()

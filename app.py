"""Start the web chat over corpus/ (and the HTTP API), indexing it in the background when needed.

The index is built (or synced) when it is missing or stale; the page says so until it is done.

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus] [--index-dir index]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("QA_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("QA_PORT", "7860")))
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--index-dir", type=Path, default=Path(os.environ.get("QA_INDEX_DIR", ROOT / "index")))
    args = parser.parse_args(argv)

    from qa import QAError, build_index, index_status
    from qa.serve.server import serve

    try:
        status = index_status(args.corpus, args.index_dir)
        if status.startswith("stale: built with"):  # vectors of another model cannot be kept: rebuild first
            print(f"qa: index {status}; rebuilding {args.corpus} …", flush=True)
            print(build_index(args.corpus, args.index_dir, progress=True, rebuild=True).summary(), flush=True)
        elif status != "fresh":
            print(f"qa: index {status}; indexing {args.corpus} in the background …", flush=True)
        serve(args.index_dir, host=args.host, port=args.port, corpus_dir=args.corpus, sync_on_start=status != "fresh")
    except (QAError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

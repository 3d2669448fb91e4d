"""Entry point of the parse worker process (``python -m qa.parse_worker MEMORY_MB``); see qa.isolate."""

import sys

from qa.isolate import serve

if __name__ == "__main__":
    serve(int(sys.argv[1]))

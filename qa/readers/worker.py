"""Entry point of the parse worker process (``python -m qa.readers.worker MEMORY_MB``); see qa.readers.isolate."""

import sys

from qa.readers.isolate import serve

if __name__ == "__main__":
    serve(int(sys.argv[1]))

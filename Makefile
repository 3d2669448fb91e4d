# Two commands on a fresh machine:  `make run` (install, start the chat, index corpus/ if needed)
# and `make test` (install, run the whole test suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install browser ocr clean

run: $(STAMP) ocr
	$(PY) app.py

test: $(STAMP) browser ocr
	$(PY) -m pytest

install: $(STAMP)

# torch first, pinned to the CPU wheel: sentence-transformers' own torch requirement is then already
# met and pip does not pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,milvus,ray]'
	touch $@

# The browser tests drive Debian's Chromium; they are skipped (and say so) where it cannot be installed.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "note: /usr/bin/chromium not available; browser tests will be skipped"

# OCR of scanned PDF pages and images runs Debian's Tesseract; where it cannot be installed those pages are
# skipped with the reason in the build report (and the OCR tests say they were skipped).
ocr:
	@command -v tesseract >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null; } || \
		echo "note: tesseract not available; scanned pages and images will be skipped"

clean:
	rm -rf $(VENV) index/manifest.json index/data-* index/.tmp-*

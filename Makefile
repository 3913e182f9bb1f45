# The two commands of the README's Quick start, and a few more for development.
.PHONY: play test bench setup clean

# Set everything up and stream the default model to the sound card (or the null sink without one).
play:
	@scripts/setup.sh run
	.venv/bin/lmk play --prompt "minimal techno"

# Set everything up (test tools, jackd), lint, and run the whole test suite.
test:
	@scripts/setup.sh test
	.venv/bin/ruff check livemusic_kernel tests benchmarks examples scripts
	.venv/bin/python -m pytest -q

# Latency, underruns and render speed, compared with the 2 s chunked baseline.
bench:
	@scripts/setup.sh run
	.venv/bin/lmk bench

clean:
	rm -rf .venv build dist *.egg-info .pytest_cache

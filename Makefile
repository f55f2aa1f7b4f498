# The two set-up commands: `make run` and `make test` (see README). Both install what is missing.
JOBS ?= 2
RELEASE_DIR ?= build/release
ASAN_DIR ?= build/asan

.PHONY: deps build run test check bench fuzz format clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE_DIR) -j$(JOBS)

# A real swarm end to end: mock LLM on a free loopback port (or $OPENAI_BASE_URL), one task.
run: build
	@scripts/run-example.sh $(RELEASE_DIR)/apps/swarm/swarm examples/research.yaml \
	  "Should a small team write its agent runtime in C++?"

# Everything CI checks: format, include layering, Release and Debug+ASan/UBSan builds and tests.
test: deps
	@scripts/test.sh

# Fast local loop: the Release build and its tests only.
check: build
	@cd $(RELEASE_DIR) && ctest --output-on-failure -j$(JOBS)

# Every benchmark scenario beside its floors and the JS peers (docs/benchmarks.md): the report
# on stdout, JSON, markdown and PNG plots in $(BENCH_OUT). `make bench BENCH_ARGS=--quick`: ~3 min.
BENCH_OUT ?= build/bench
bench: build
	@$(RELEASE_DIR)/apps/swarm/swarm bench --peers $(BENCH_ARGS) --json $(BENCH_OUT)/results.json \
	  --markdown $(BENCH_OUT)/results.md --plots $(BENCH_OUT)

# The libFuzzer targets (clang, ASan+UBSan) in build/fuzz, each for FUZZ_SECONDS (default 600).
fuzz: deps
	@scripts/fuzz.sh

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	@rm -rf build

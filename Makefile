# plcline: convenience wrapper around CMake. The real build is CMakeLists.txt.
#   make run    install what is missing, build, run the daemon on examples/demo.yaml
#   make check  install what is missing, build, run every test (plain and ASan+UBSan), and the
#               integration tests under valgrind memcheck
#   make bench  run the benchmarks and write bench/results.md
#   make fuzz   build the libFuzzer targets and run each for FUZZ_SECONDS
#   make coverage  line and branch coverage of the test suite; fails below the committed figure
BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
COV_BUILD   ?= build-coverage
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps build run check test test-asan asan valgrind format format-check bench fuzz coverage \
        install clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPL_WERROR=ON $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run: build
	@echo "plcline: status page on http://127.0.0.1:8080/ (http.listen in examples/demo.yaml)"
	$(BUILD)/plcline run examples/demo.yaml

# a skipped test fails the check unless tests/skips.txt allows it (scripts/check-skips.py)
test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) --output-junit ctest-junit.xml
	scripts/check-skips.py $(BUILD)/ctest-junit.xml plain

$(ASAN_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPL_WERROR=ON -DPL_SANITIZE=ON

asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS)

test-asan: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) --output-junit ctest-junit.xml
	scripts/check-skips.py $(ASAN_BUILD)/ctest-junit.xml asan

# integration tests under valgrind memcheck: any leak or invalid access fails (docs/reliability.md)
valgrind: build
	scripts/valgrind.sh $(BUILD)

check: format-check test test-asan valgrind

# the C sources: tracked files in a git checkout, else (an unpacked archive) the source folders
SOURCES = $$(git ls-files '*.c' '*.h' 2>/dev/null || find apps bench include src tests -name '*.[ch]')

format: deps
	clang-format -i $(SOURCES)

# deps first: a fresh Debian machine has no clang-format, and `check` starts here
format-check: deps
	@out=$$(clang-format --dry-run $(SOURCES) 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; echo "format-check: run 'make format'"; exit 1; fi

bench: build
	@scripts/bench.sh $(BUILD)

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPL_FUZZ=ON -DPL_TESTS=OFF

fuzz:
	@scripts/deps.sh --with-fuzz
	$(MAKE) $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

$(COV_BUILD)/CMakeCache.txt:
	CC=gcc cmake -S . -B $(COV_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPL_WERROR=ON -DPL_COVERAGE=ON

# the whole test suite in a --coverage build, counts reset first; scripts/coverage.sh prints
# line and branch coverage of src/ and apps/ and fails below the figure in docs/reliability.md
coverage: deps $(COV_BUILD)/CMakeCache.txt
	cmake --build $(COV_BUILD) -j$(JOBS)
	find $(COV_BUILD) -name '*.gcda' -delete
	ctest --test-dir $(COV_BUILD) --output-on-failure -j$(JOBS)
	scripts/coverage.sh $(COV_BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(COV_BUILD)

# Thin wrapper over CMake. `make demo` and `make test` are what a new user runs.
BUILD ?= build
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: deps build test test-sanitize demo bench fuzz format check-format clean

deps:
	./scripts/deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	./.ci/check-deps
	cd $(BUILD) && ctest --output-on-failure -j 1 $(CTEST_ARGS)

# Unit and property tests under ASan and UBSan (CI runs this too).
test-sanitize: deps
	cmake -S . -B build-asan -G Ninja -DGANTRY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -L 'unit|property' $(CTEST_ARGS)

demo: build
	./scripts/demo.sh $(BUILD)

bench: build
	./bench/run.sh $(BUILD)

fuzz: deps
	cmake -S . -B build-fuzz -G Ninja -DGANTRY_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
	cmake --build build-fuzz -j $(JOBS) --target fuzzers
	./fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

format:
	find model runtime cli tests fuzz bench -name '*.h' -o -name '*.cpp' | xargs clang-format -i

check-format:
	find model runtime cli tests fuzz bench -name '*.h' -o -name '*.cpp' | xargs clang-format --dry-run -Werror

clean:
	rm -rf $(BUILD) build-asan build-fuzz

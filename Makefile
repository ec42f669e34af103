# stockwatch: a thin front end over CMake. `make demo` and `make test` work on
# a fresh Debian 12 machine with only git and make (as root, or with sudo).

PREFIX     ?= /usr/local
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Everything the build, the tests, the demo and the benchmarks need.
DEB_PACKAGES := g++ clang libclang-rt-14-dev cmake ninja-build pkg-config make git \
  libcli11-dev librdkafka-dev libpqxx-dev libcurl4-openssl-dev libssl-dev libfmt-dev \
  nlohmann-json3-dev doctest-dev libsqlite3-dev libsimdjson-dev \
  postgresql kcat jq curl python3 python3-aiosmtpd sqlite3 scdoc groff-base hyperfine time \
  systemd util-linux procps libsystemd-dev libcpp-httplib-dev prometheus clang-format

CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build test check asan tsan format format-check demo install man bench clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS)

# Starts the test services (mock Kafka cluster, throwaway PostgreSQL), runs
# every test (unit, cli, integration), stops the services.
test: build
	SW_BIN=$(CURDIR)/$(BUILD)/bin tests/services/with-services.sh \
	  ctest --test-dir $(BUILD) --output-on-failure -j2
check: test

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTOCKWATCH_SANITIZE=address,undefined
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	SW_BIN=$(CURDIR)/$(ASAN_BUILD)/bin ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/services/with-services.sh ctest --test-dir $(ASAN_BUILD) --output-on-failure -j2 -LE fuzz

# ThreadSanitizer over the unit tests and stock-notify's tests (stock-notify
# hands alerts to a worker thread). Not its Kafka tests: librdkafka starts its
# threads with C11 thrd_create, which this TSan does not intercept, so any
# Kafka client dies inside TSan's allocator (an uninstrumented thread).
tsan: deps
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTOCKWATCH_SANITIZE=thread
	cmake --build $(TSAN_BUILD) -j$(JOBS)
	SW_BIN=$(CURDIR)/$(TSAN_BUILD)/bin TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  tests/services/with-services.sh sh -c \
	  'ctest --test-dir $(TSAN_BUILD) --output-on-failure -j2 -L unit && \
	   ctest --test-dir $(TSAN_BUILD) --output-on-failure -j2 -R "^cli/04"'

# The C++ style (.clang-format): `format` applies it, `format-check` fails on
# any file that differs from it.
FORMAT_FILES = $(shell git ls-files '*.cc' '*.h')
format:
	@clang-format -i $(FORMAT_FILES)
format-check: deps
	@echo "clang-format --dry-run --Werror: $(words $(FORMAT_FILES)) files"
	@clang-format --dry-run --Werror $(FORMAT_FILES)

demo: build
	SW_BIN=$(CURDIR)/$(BUILD)/bin examples/demo.sh

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# Regenerates the roff man pages from their scdoc sources (both are committed).
man:
	@for f in man/*.1.scd; do scdoc < $$f > $${f%.scd}; done

bench: build
	bench/run-all.sh $(BUILD)/bin

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# HttpServer build. `make` -> ./HttpServer; `make test` -> unit + integration suites.
# `make test SANITIZE=address,undefined` builds everything into build/san-... with the sanitizers.

SHELL    := /bin/bash
CXX      ?= g++
CXXFLAGS ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wconversion -Wold-style-cast
STD      := -std=c++20
CPPFLAGS += -Isrc -MMD -MP
LDLIBS   :=

comma := ,
SANITIZE ?=
ifeq ($(SANITIZE),)
  BUILD := build/release
  BIN   := HttpServer
else
  BUILD := build/san-$(subst $(comma),-,$(SANITIZE))
  BIN   := $(BUILD)/HttpServer
  CXXFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS  += -fsanitize=$(SANITIZE)
endif

SRCS      := $(wildcard src/*.cc)
CORE_SRCS := $(filter-out src/main.cc,$(SRCS))
CORE_OBJS := $(CORE_SRCS:src/%.cc=$(BUILD)/src/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.cc)
INT_SRCS  := $(wildcard tests/integration/*.cc)
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/%.o)
INT_OBJS  := $(INT_SRCS:%.cc=$(BUILD)/%.o)
ALLOC_SRCS := $(wildcard tests/alloc/*.cc)
ALLOC_OBJS := $(ALLOC_SRCS:%.cc=$(BUILD)/%.o)
LIBCORE   := $(BUILD)/libcore.a

# Fuzz targets (tests/fuzz/fuzz_*.cc) and the pure sources they exercise.
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.cc)
FUZZ_NAMES  := $(FUZZ_SRCS:tests/fuzz/fuzz_%.cc=%)
PURE_SRCS   := src/HttpParser.cc src/ChunkedDecoder.cc src/UrlPath.cc src/HttpRange.cc src/HttpConditional.cc \
               src/HttpDate.cc src/MimeTypes.cc
REPLAYS     := $(FUZZ_NAMES:%=$(BUILD)/replay/%)
FUZZ_SECONDS ?= 60
CLANGXX     ?= clang++
FUZZ_DIR    := build/fuzz

PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: all test unit integration alloc replay run clean bench fuzz soak memcheck install uninstall

all: $(BIN)

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(STD) $(CPPFLAGS) $(CXXFLAGS) $(WARN) -c $< -o $@

$(LIBCORE): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIBCORE)
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(UNIT_OBJS) $(LIBCORE)
	$(CXX) $(LDFLAGS) -o $@ $^ -lgtest -lgtest_main -lpthread

$(BUILD)/integration_tests: $(INT_OBJS) $(LIBCORE)
	$(CXX) $(LDFLAGS) -o $@ $^ -lgtest -lgtest_main -lpthread

$(BUILD)/alloc_tests: $(ALLOC_OBJS) $(LIBCORE)
	$(CXX) $(LDFLAGS) -rdynamic -o $@ $^ -lgtest -lgtest_main -lpthread

# Replays each fuzz target's corpus with the ordinary compiler (deterministic, part of `make test`).
$(BUILD)/replay/%: tests/fuzz/fuzz_%.cc tests/fuzz/replay_main.cc $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CXX) $(STD) $(CPPFLAGS) $(CXXFLAGS) -Wall -Wextra -Werror -Wno-comment -o $@ $< tests/fuzz/replay_main.cc $(LIBCORE)

LOGS := $(BUILD)/logs

unit: $(BUILD)/unit_tests
	@mkdir -p $(LOGS)
	set -o pipefail; $(BUILD)/unit_tests --gtest_brief=1 2>&1 | tee $(LOGS)/unit.log

integration: $(BUILD)/integration_tests $(BIN)
	@mkdir -p $(LOGS) && rm -rf $(LOGS)/servers
	set -o pipefail; HTTPSERVER_BIN=$(abspath $(BIN)) HTTPSERVER_WWW=$(abspath www) \
	  HTTPSERVER_LOG_DIR=$(abspath $(LOGS))/servers \
	  $(BUILD)/integration_tests --gtest_brief=1 2>&1 | tee $(LOGS)/integration.log

alloc: $(BUILD)/alloc_tests
	@mkdir -p $(LOGS)
	set -o pipefail; HTTPSERVER_WWW=$(abspath www) $(BUILD)/alloc_tests --gtest_brief=1 2>&1 | tee $(LOGS)/alloc.log

replay: $(REPLAYS)
	@for t in $(FUZZ_NAMES); do $(BUILD)/replay/$$t tests/fuzz/corpus/$$t || exit 1; done

# The allocation-counting suite replaces malloc, which the sanitizers also do: release builds only.
test: unit replay $(if $(and $(ALLOC_SRCS),$(if $(SANITIZE),,yes)),alloc) integration
	@tests/summary.sh $(LOGS) $(if $(SANITIZE),,alloc) unit integration

# Coverage-guided fuzzing with libFuzzer: each target for FUZZ_SECONDS (default 60) on a scratch
# copy of its corpus; any crash fails the build (the input is left in build/fuzz/).
fuzz:
	@mkdir -p $(FUZZ_DIR)
	@for t in $(FUZZ_NAMES); do \
	  $(CLANGXX) $(STD) -Isrc -g -O1 -fsanitize=fuzzer,address,undefined -o $(FUZZ_DIR)/$$t \
	    tests/fuzz/fuzz_$$t.cc $(PURE_SRCS) || exit 1; \
	  rm -rf $(FUZZ_DIR)/corpus-$$t && cp -r tests/fuzz/corpus/$$t $(FUZZ_DIR)/corpus-$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  (cd $(FUZZ_DIR) && ./$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 corpus-$$t 2>&1 | \
	    grep -E "stat::number_of_executed_units|(DONE|INITED).*cov:|ERROR|SUMMARY" | tail -4; \
	    exit $${PIPESTATUS[0]}) || exit 1; \
	done

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/HttpServer
	install -D -m 0644 docs/HttpServer.8 $(DESTDIR)$(PREFIX)/share/man/man8/HttpServer.8
	install -D -m 0644 docs/HttpServer.conf.example $(DESTDIR)$(PREFIX)/share/doc/HttpServer/HttpServer.conf.example
	install -D -m 0644 docs/HttpServer.service $(DESTDIR)$(PREFIX)/lib/systemd/system/HttpServer.service
	install -D -m 0644 docs/HttpServer.logrotate $(DESTDIR)$(PREFIX)/share/doc/HttpServer/HttpServer.logrotate

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/HttpServer $(DESTDIR)$(PREFIX)/share/man/man8/HttpServer.8 \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system/HttpServer.service
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/HttpServer

# Side-by-side benchmark against nginx (installs nginx, wrk and ab when missing). BENCH_ARGS=--quick for a short run.
bench: $(BIN)
	bench/bench.sh $(BENCH_ARGS)

# Long-running mixed-traffic soak test (bounded; SOAK_REQUESTS, default 1,000,000).
soak: $(BIN)
	bench/soak.sh

# Mixed traffic against the master and every worker under valgrind memcheck; any error fails.
memcheck: $(BUILD)/integration_tests $(BIN)
	HTTPSERVER_BIN=$(abspath $(BIN)) HTTPSERVER_WWW=$(abspath www) HTTPSERVER_VALGRIND=1 \
	  $(BUILD)/integration_tests --gtest_filter='HardeningValgrindTest.*' $(MEMCHECK_ARGS)

run: $(BIN)
	@echo "Serving $(abspath www) at http://127.0.0.1:8080/  (Ctrl-C stops)"
	./$(BIN) 127.0.0.1 8080 4 1000 --root www

clean:
	rm -rf build HttpServer

-include $(wildcard $(BUILD)/src/*.d $(BUILD)/tests/*/*.d)

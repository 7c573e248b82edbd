# HttpServer build. `make` -> ./HttpServer; `make test` -> unit + integration suites.
# `make test SANITIZE=address,undefined` builds everything into build/san-... with the sanitizers.

SHELL    := /bin/bash
CXX      ?= g++
CXXFLAGS ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wconversion -Wold-style-cast
STD      := -std=c++20
CPPFLAGS += -Isrc -MMD -MP
LDLIBS   := -lcrypt

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
               src/Router.cc src/Regex.cc \
               src/HttpDate.cc src/MimeTypes.cc src/FastCgiCodec.cc src/CgiResponseHead.cc \
               src/ProxyProtocol.cc
REPLAYS     := $(FUZZ_NAMES:%=$(BUILD)/replay/%)
FUZZ_SECONDS ?= 60
CLANGXX     ?= clang++
FUZZ_DIR    := build/fuzz

PREFIX  ?= /usr/local
DESTDIR ?=
# Installed paths; PREFIX=/usr puts the configuration in /etc and the logs in /var, as Debian does.
ifeq ($(PREFIX),/usr)
  SYSCONFDIR    ?= /etc
  LOCALSTATEDIR ?= /var
else
  SYSCONFDIR    ?= $(PREFIX)/etc
  LOCALSTATEDIR ?= $(PREFIX)/var
endif
CONF_FILE := $(SYSCONFDIR)/HttpServer/HttpServer.conf
LOG_DIR   := $(LOCALSTATEDIR)/log/HttpServer
DOC_DIR   := $(PREFIX)/share/doc/HttpServer
SITE_DIR  := $(PREFIX)/share/HttpServer/html
# The binary knows them (compiled into main.o only, which is rebuilt when they change).
PATH_DEFS := -DHS_CONFIG_FILE='"$(CONF_FILE)"' -DHS_ERROR_LOG='"$(LOG_DIR)/error.log"' \
             -DHS_DOC_DIR='"$(DOC_DIR)"'
MAIN_OBJ  ?= $(BUILD)/src/main.o
# The shipped files name the default (PREFIX=/usr/local) paths; install rewrites them.
SUBST := sed -e 's|/usr/local/etc/HttpServer|$(SYSCONFDIR)/HttpServer|g' \
             -e 's|/usr/local/var/log/HttpServer|$(LOG_DIR)|g' -e 's|/usr/local/|$(PREFIX)/|g'

.PHONY: FORCE all test unit integration alloc replay scripts run clean bench fuzz soak memcheck install \
        uninstall format format-check cluster test-tsan

all: $(BIN)

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(STD) $(CPPFLAGS) $(CXXFLAGS) $(WARN) -c $< -o $@

$(LIBCORE): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIBCORE)
	$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(MAIN_OBJ): src/main.cc $(MAIN_OBJ).paths
	@mkdir -p $(dir $@)
	$(CXX) $(STD) $(CPPFLAGS) $(CXXFLAGS) $(WARN) $(PATH_DEFS) -c $< -o $@

# Rewritten only when the paths change, so that main.o is rebuilt exactly then.
$(MAIN_OBJ).paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PATH_DEFS)' | cmp -s - $@ || echo '$(PATH_DEFS)' > $@

FORCE:

$(BUILD)/unit_tests: $(UNIT_OBJS) $(LIBCORE)
	$(CXX) $(LDFLAGS) -o $@ $^ -lgtest -lgtest_main -lpthread $(LDLIBS)

$(BUILD)/integration_tests: $(INT_OBJS) $(LIBCORE)
	$(CXX) $(LDFLAGS) -o $@ $^ -lgtest -lgtest_main -lpthread $(LDLIBS)

$(BUILD)/alloc_tests: $(ALLOC_OBJS) $(LIBCORE)
	$(CXX) $(LDFLAGS) -rdynamic -o $@ $^ -lgtest -lgtest_main -lpthread $(LDLIBS)

# Replays each fuzz target's corpus with the ordinary compiler (deterministic, part of `make test`).
$(BUILD)/replay/%: tests/fuzz/fuzz_%.cc tests/fuzz/replay_main.cc $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CXX) $(STD) $(CPPFLAGS) $(CXXFLAGS) -Wall -Wextra -Werror -Wno-comment -o $@ $< tests/fuzz/replay_main.cc $(LIBCORE)

LOGS := $(BUILD)/logs
# A sanitizer report from any process (a test binary, the master, a worker running as nobody) is
# written to a file in $(LOGS)/sanitizer, which tests/summary.sh counts as a failure: a worker
# that dies of one is respawned, and its test might otherwise pass.
SAN_LOGS := $(abspath $(LOGS))/sanitizer
SAN_ENV := $(if $(SANITIZE),ASAN_OPTIONS=log_path=$(SAN_LOGS)/asan:detect_leaks=1 \
  UBSAN_OPTIONS=log_path=$(SAN_LOGS)/ubsan:print_stacktrace=1)
SAN_DIR := $(if $(SANITIZE),mkdir -p $(SAN_LOGS) && chmod 1777 $(SAN_LOGS),true)
SUITE := env $(SAN_ENV) tests/run_suite.sh
RUN_unit := $(BUILD)/unit_tests --gtest_brief=1
RUN_alloc := env HTTPSERVER_WWW=$(abspath www) $(BUILD)/alloc_tests --gtest_brief=1
RUN_integration := env HTTPSERVER_BIN=$(abspath $(BIN)) HTTPSERVER_WWW=$(abspath www) \
  HTTPSERVER_LOG_DIR=$(abspath $(LOGS))/servers HTTPSERVER_SANITIZE=$(SANITIZE) \
  $(BUILD)/integration_tests --gtest_brief=1
RUN_scripts := tests/scripts/summary_test.sh
RUN_replay := bash -c 'for t in $(FUZZ_NAMES); do $(BUILD)/replay/$$t tests/fuzz/corpus/$$t || exit 1; done'

# Each suite alone: its output goes to $(LOGS)/<suite>.log, the terminal gets its line and the
# closing line.
unit: $(BUILD)/unit_tests
	@rm -rf $(SAN_LOGS) && $(SAN_DIR)
	@$(SUITE) unit $(LOGS) $(RUN_unit) || true
	@tests/summary.sh $(LOGS) unit

integration: $(BUILD)/integration_tests $(BIN)
	@rm -rf $(LOGS)/servers $(SAN_LOGS) && $(SAN_DIR)
	@$(SUITE) integration $(LOGS) $(RUN_integration) || true
	@tests/summary.sh $(LOGS) integration

alloc: $(BUILD)/alloc_tests
	@rm -rf $(SAN_LOGS) && $(SAN_DIR)
	@$(SUITE) alloc $(LOGS) $(RUN_alloc) || true
	@tests/summary.sh $(LOGS) alloc

# The scripts that report on the suites (run_suite.sh, summary.sh), checked on canned logs.
scripts:
	@$(SUITE) scripts $(LOGS) $(RUN_scripts) || true
	@tests/summary.sh $(LOGS) scripts

replay: $(REPLAYS)
	@rm -rf $(SAN_LOGS) && $(SAN_DIR)
	@$(SUITE) replay $(LOGS) $(RUN_replay) || true
	@tests/summary.sh $(LOGS) replay

# The allocation-counting suite replaces malloc, which the sanitizers also do: release builds only.
TEST_SUITES := scripts unit replay $(if $(and $(ALLOC_SRCS),$(if $(SANITIZE),,yes)),alloc) integration

# Builds everything first (in parallel with -j), then runs the suites one after another, each
# even after another failed; tests/summary.sh adds them up and fails the run on any failure.
test: $(BUILD)/unit_tests $(REPLAYS) $(if $(filter alloc,$(TEST_SUITES)),$(BUILD)/alloc_tests) \
      $(BUILD)/integration_tests $(BIN)
	@rm -rf $(LOGS)/servers $(LOGS)/*.status $(SAN_LOGS) && $(SAN_DIR)
	@$(foreach s,$(TEST_SUITES),$(SUITE) $(s) $(LOGS) $(RUN_$(s)) || true;)
	@tests/summary.sh $(LOGS) $(TEST_SUITES)

# The worker's thread pool under ThreadSanitizer: its own small binary (the pool, its file tasks
# and their unit tests, nothing else), so it builds in seconds; any race report fails it.
TSAN_DIR := build/tsan
TSAN_SRCS := src/ThreadPool.cc src/FileTask.cc src/FileCache.cc src/MimeTypes.cc src/HttpDate.cc \
	tests/unit/ThreadPool_test.cc tests/unit/FileTask_test.cc
$(TSAN_DIR)/threadpool_tests: $(TSAN_SRCS) src/ThreadPool.h src/FileTask.h src/FileCache.h
	@mkdir -p $(dir $@)
	$(CXX) $(STD) -Isrc -O1 -g -fsanitize=thread $(WARN) -o $@ $(TSAN_SRCS) \
	  -lgtest -lgtest_main -lpthread

test-tsan: $(TSAN_DIR)/threadpool_tests
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(TSAN_DIR)/threadpool_tests --gtest_brief=1

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

# Installs the binary, the man page, the unit file and the docs with the paths rewritten for
# PREFIX, a small default site, and the default configuration unless one is already there.
install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/HttpServer
	@mkdir -p $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(DOC_DIR) \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(dir $(CONF_FILE))
	$(SUBST) docs/HttpServer.8 > $(DESTDIR)$(PREFIX)/share/man/man8/HttpServer.8
	$(SUBST) docs/HttpServer.conf.example > $(DESTDIR)$(DOC_DIR)/HttpServer.conf.example
	$(SUBST) docs/HttpServer.logrotate > $(DESTDIR)$(DOC_DIR)/HttpServer.logrotate
	$(SUBST) docs/HttpServer.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/HttpServer.service
	install -D -m 0644 docs/default-site/index.html $(DESTDIR)$(SITE_DIR)/index.html
	install -d -m 0755 $(DESTDIR)$(LOG_DIR)
	@if [ -e $(DESTDIR)$(CONF_FILE) ]; then \
	  echo "keeping the existing $(DESTDIR)$(CONF_FILE)"; \
	else \
	  $(SUBST) -e 's|^root /var/www$$|root $(SITE_DIR)|' docs/HttpServer.conf.example \
	    > $(DESTDIR)$(CONF_FILE) && \
	  echo "installed the default configuration $(DESTDIR)$(CONF_FILE)"; \
	fi

# Leaves the configuration and the logs, as a package removal (not a purge) does.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/HttpServer $(DESTDIR)$(PREFIX)/share/man/man8/HttpServer.8 \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system/HttpServer.service
	rm -rf $(DESTDIR)$(DOC_DIR) $(DESTDIR)$(PREFIX)/share/HttpServer

# Side-by-side benchmark against nginx, h2o and floor_server, with the slow-disk case (installs what is missing). BENCH_ARGS=--quick for a short run.
bench: $(BIN)
	bench/bench.sh $(BENCH_ARGS)

# Long-running mixed-traffic soak test (bounded; SOAK_REQUESTS, default 1,000,000).
soak: $(BIN)
	bench/soak.sh

# Mixed traffic against the master and every worker under valgrind memcheck; any error fails.
memcheck: $(BUILD)/integration_tests $(BIN)
	HTTPSERVER_BIN=$(abspath $(BIN)) HTTPSERVER_WWW=$(abspath www) HTTPSERVER_VALGRIND=1 \
	  $(BUILD)/integration_tests --gtest_filter='HardeningValgrindTest.*' $(MEMCHECK_ARGS)

# Three backends behind HAProxy with TLS in network namespaces (docs/DEPLOYMENT.md); needs root,
# skips in one line without netns/veth or a tool. Bounded: stopped (and cleaned up) after 5 min.
CLUSTER_TIMEOUT ?= 300
cluster: $(BIN)
	HTTPSERVER_BIN=$(abspath $(BIN)) timeout -s TERM $(CLUSTER_TIMEOUT) tests/cluster/cluster.sh

# clang-format 14 with the checked-in .clang-format, over src/ and tests/.
CLANG_FORMAT ?= clang-format-14
FORMAT_FILES := $(sort $(wildcard src/*.h src/*.cc tests/*/*.h tests/*/*.cc))

format:
	@$(CLANG_FORMAT) -i $(FORMAT_FILES)

# Fails, naming the files, when any of them differs from what `make format` would make of it.
format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "format-check: $(CLANG_FORMAT) not found"; exit 1; }
	@bad=0; for f in $(FORMAT_FILES); do \
	  $(CLANG_FORMAT) "$$f" | cmp -s - "$$f" || { echo "format-check: $$f differs"; bad=$$((bad + 1)); }; \
	done; \
	[ $$bad -eq 0 ] || { echo "format-check: $$bad files differ from .clang-format (make format fixes them)"; exit 1; }

RUN_PORT ?= 8080
run: $(BIN)
	@echo "Serving $(abspath www) at http://127.0.0.1:$(RUN_PORT)/  (Ctrl-C stops)"
	./$(BIN) 127.0.0.1 $(RUN_PORT) 4 1000 --root www --error-page 404=/404.html

clean:
	rm -rf build HttpServer

-include $(wildcard $(BUILD)/src/*.d $(BUILD)/tests/*/*.d $(MAIN_OBJ:.o=.d))

# HttpServer build. `make` -> ./HttpServer; `make test` -> unit + integration suites.
# `make test SANITIZE=address,undefined` builds everything into build/san-... with the sanitizers.

CXX      ?= g++
CXXFLAGS ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wconversion -Wold-style-cast
STD      := -std=c++20
CPPFLAGS += -Isrc -MMD -MP
LDLIBS   :=

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
comma := ,

SRCS      := $(wildcard src/*.cc)
CORE_SRCS := $(filter-out src/main.cc,$(SRCS))
CORE_OBJS := $(CORE_SRCS:src/%.cc=$(BUILD)/src/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.cc)
INT_SRCS  := $(wildcard tests/integration/*.cc)
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/%.o)
INT_OBJS  := $(INT_SRCS:%.cc=$(BUILD)/%.o)
LIBCORE   := $(BUILD)/libcore.a

.PHONY: all test unit integration run clean bench fuzz soak memcheck install uninstall format

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

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests --gtest_brief=1

integration: $(BUILD)/integration_tests $(BIN)
	HTTPSERVER_BIN=$(abspath $(BIN)) HTTPSERVER_WWW=$(abspath www) $(BUILD)/integration_tests --gtest_brief=1

test: unit integration
	@echo "all test suites passed"

run: $(BIN)
	@echo "Serving $(abspath www) at http://127.0.0.1:8080/  (Ctrl-C stops)"
	./$(BIN) 127.0.0.1 8080 4 1000 --root www

clean:
	rm -rf build HttpServer

-include $(wildcard $(BUILD)/src/*.d $(BUILD)/tests/*/*.d)

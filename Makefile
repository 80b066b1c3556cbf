# abri — see README.md. `make` builds every program into bin/.
#   make run      install what is missing, build, serve on 127.0.0.1:$(PORT)
#   make test     every test (SANITIZE=1: built with ASan and UBSan)
#   make bench    performance, side by side with the machine's ceiling
#   make fuzz     libFuzzer targets, a bounded time each
#   make install  PREFIX, DESTDIR honoured
#   make pages    write the victims' page in every language (www/lang/)
#   make clean

PORT ?= 8080
# The builds of `make run` and `make test` use every core unless make was given -j.
JOBS ?= $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))
ABRI_DB ?= $(CURDIR)/var/db/abri.db
export ABRI_DB

CXX ?= g++
ifeq ($(origin CXX),default)
CXX := g++
endif
CXXFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wconversion -Werror
CPPFLAGS += -MMD -MP -Ilib -Ibuild/gen -DABRI_DEFAULT_DB='"$(CURDIR)/var/db/abri.db"'
LDLIBS := -lfcgi -lsqlite3 -lsodium -pthread

ifdef SANITIZE
BUILD := build/san
BIN := bin/san
CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
else
BUILD := build/rel
BIN := bin
endif

LIB_SRC := $(wildcard lib/*.cpp)
GEN_SRC := build/gen/migrations.cpp build/gen/corsica.cpp
LIB_OBJ := $(LIB_SRC:%.cpp=$(BUILD)/%.o) $(GEN_SRC:build/gen/%.cpp=$(BUILD)/gen/%.o)
PROGRAMS := $(patsubst cgi/%.cpp,$(BIN)/%,$(wildcard cgi/*.cpp))
UNIT_SRC := $(wildcard tests/unit/*.cpp)
UNIT_BIN := $(BUILD)/unit-tests

.PHONY: all run test deps bench fuzz clean pages
all: $(PROGRAMS)

build/gen/migrations.cpp: sql/embed.sh $(sort $(wildcard sql/[0-9][0-9][0-9]_*.sql))
	@mkdir -p $(@D)
	@sql/embed.sh migrations $@ $(sort $(wildcard sql/[0-9][0-9][0-9]_*.sql))

build/gen/corsica.cpp: sql/embed.sh sql/fr-postcodes.csv
	@mkdir -p $(@D)
	@sql/embed.sh corsica $@ sql/fr-postcodes.csv

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	@echo '  CXX $<'
	@$(CXX) -std=c++20 $(CXXFLAGS) $(WARNINGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/gen/%.o: build/gen/%.cpp
	@mkdir -p $(@D)
	@echo '  CXX $<'
	@$(CXX) -std=c++20 $(CXXFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/libabri.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

# Kept, not deleted as intermediate files: a second make reads their .d
# files, takes them for targets, and would rebuild and relink every program
# under the feet of the tests that run it (test_install's `make install`).
.SECONDARY: $(PROGRAMS:$(BIN)/%=$(BUILD)/cgi/%.o)

$(BIN)/%: $(BUILD)/cgi/%.o $(BUILD)/libabri.a
	@mkdir -p $(@D)
	@echo '  LD  $@'
	@$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(UNIT_BIN): $(UNIT_SRC:%.cpp=$(BUILD)/%.o) $(BUILD)/libabri.a
	$(CXX) $(LDFLAGS) $^ $(LDLIBS) -lboost_unit_test_framework -o $@

$(BUILD)/tests/unit/%.o: CPPFLAGS += -DBOOST_TEST_DYN_LINK

pages:
	@python3 www/lang/generate.py

# Debian packages the programs, the tests and `make run` need; installed
# when missing (as root), so that a fresh Debian 12 needs nothing by hand.
deps:
	@deploy/dev/deps.sh

run: deps
	@$(MAKE) --no-print-directory $(JOBS) all
	@PORT=$(PORT) BIN=$(CURDIR)/$(BIN) deploy/dev/stack.sh --demo

test: deps
	@$(MAKE) --no-print-directory $(JOBS) all $(UNIT_BIN) $(TEST_BUILDS)
	@ABRI_BIN=$(CURDIR)/$(BIN) ABRI_UNIT_TESTS=$(CURDIR)/$(UNIT_BIN) python3 tests/run.py

clean:
	rm -rf build bin

-include $(wildcard deploy/install.mk tests/bench/bench.mk tests/fuzz/fuzz.mk)
-include $(shell find build -name '*.d' 2>/dev/null)

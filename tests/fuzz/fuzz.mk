# Fuzzing (included by the top-level Makefile). See docs/hostile.md.
#
#   make fuzz                 every target for FUZZ_SECONDS (60) each, with
#                             clang's libFuzzer, ASan and UBSan; installs
#                             clang-14 and libclang-rt-14-dev when missing
#                             (deploy/dev/deps.sh fuzz), unless FUZZ_CXX is
#                             given
#   make fuzz FUZZ_TARGETS=body FUZZ_SECONDS=600
#   make fuzz-merge           adds what the last runs found, minimised, to
#                             tests/fuzz/corpus/ (commit it)
#   make fuzz-replay          the replay programs `make test` runs over the
#                             corpus and tests/fuzz/regressions/ (built
#                             with $(CXX), sanitized when SANITIZE=1)
#
# Inputs found during a run go to build/fuzz/found/TARGET (scratch), a crash
# to build/fuzz/crashes/TARGET/: copy it into tests/fuzz/regressions/TARGET/
# and fix the bug (STYLE.md rule 9).

FUZZ_CXX ?= $(firstword $(shell command -v clang++-14 clang++ 2>/dev/null))
FUZZ_SECONDS ?= 60
FUZZ_ALL := $(sort $(basename $(notdir $(filter-out tests/fuzz/replay.cpp,$(wildcard tests/fuzz/*.cpp)))))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_DIR := build/fuzz
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJ := $(LIB_SRC:%.cpp=$(FUZZ_DIR)/%.o) $(GEN_SRC:build/gen/%.cpp=$(FUZZ_DIR)/gen/%.o)
# Long enough to cross the 8 KiB parameter and 16 KiB body limits.
FUZZ_MAX_LEN := 20000

.PHONY: fuzz fuzz-deps fuzz-build fuzz-merge fuzz-replay

# FUZZ_CXX is expanded anew where it is used, so it finds a clang that
# fuzz-deps has just installed.
fuzz-deps:
	@deploy/dev/deps.sh $(if $(filter file,$(origin FUZZ_CXX)),fuzz,build)

$(FUZZ_DIR)/lib/%.o: lib/%.cpp
	@mkdir -p $(@D)
	@echo '  FUZZ-CXX $<'
	@$(FUZZ_CXX) -std=c++20 $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(WARNINGS) $(CPPFLAGS) -c $< -o $@

$(FUZZ_DIR)/gen/%.o: build/gen/%.cpp
	@mkdir -p $(@D)
	@$(FUZZ_CXX) -std=c++20 $(FUZZ_FLAGS) $(CPPFLAGS) -c $< -o $@

$(FUZZ_DIR)/libabri.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(FUZZ_DIR)/tests/fuzz/%.o: tests/fuzz/%.cpp
	@mkdir -p $(@D)
	@echo '  FUZZ-CXX $<'
	@$(FUZZ_CXX) -std=c++20 $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(WARNINGS) $(CPPFLAGS) -c $< -o $@

$(FUZZ_DIR)/%: $(FUZZ_DIR)/tests/fuzz/%.o $(FUZZ_DIR)/libabri.a
	@echo '  FUZZ-LD  $@'
	@$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

fuzz-build: fuzz-deps
	@test -n "$(FUZZ_CXX)" || { echo "clang++ is missing: apt-get install clang-14 libclang-rt-14-dev"; exit 1; }
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

# Each target runs FUZZ_SECONDS from its corpus and regression inputs; new
# inputs go to the scratch directory (first), never into tests/ directly.
fuzz: fuzz-build
	@failed=""; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/found/$$t $(FUZZ_DIR)/crashes/$$t tests/fuzz/regressions/$$t; \
	    dict=""; [ -f tests/fuzz/$$t.dict ] && dict="-dict=tests/fuzz/$$t.dict"; \
	    echo "== fuzz $$t: $(FUZZ_SECONDS) s"; \
	    $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/crashes/$$t/ $$dict \
	        $(FUZZ_DIR)/found/$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t \
	        >$(FUZZ_DIR)/$$t.log 2>&1 || failed="$$failed $$t"; \
	    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
	        $(FUZZ_DIR)/$$t.log | sed 's/^stat:://; s/: */=/' | tr '\n' ' '; echo; \
	done; \
	if [ -n "$$failed" ]; then \
	    echo "fuzz: crashes in$$failed: see $(FUZZ_DIR)/TARGET.log and $(FUZZ_DIR)/crashes/"; exit 1; \
	fi; echo "fuzz: no crash"

fuzz-merge: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p tests/fuzz/corpus/$$t $(FUZZ_DIR)/found/$$t; \
	    $(FUZZ_DIR)/$$t -merge=1 -max_len=$(FUZZ_MAX_LEN) tests/fuzz/corpus/$$t $(FUZZ_DIR)/found/$$t \
	        2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' || true; \
	done

# The same targets without libFuzzer, for `make test`.
FUZZ_REPLAY := $(FUZZ_ALL:%=$(BUILD)/fuzz-replay/%)

$(BUILD)/fuzz-replay/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libabri.a
	@mkdir -p $(@D)
	@echo '  LD  $@'
	@$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

fuzz-replay: $(FUZZ_REPLAY)

# Built by `make test`'s own recipe, after deps has installed the compiler
# (a prerequisite of test would race deps under make -j).
TEST_BUILDS += fuzz-replay

# Keep the objects make would otherwise delete as intermediate.
.SECONDARY: $(FUZZ_ALL:%=$(FUZZ_DIR)/tests/fuzz/%.o) $(FUZZ_ALL:%=$(BUILD)/tests/fuzz/%.o) $(BUILD)/tests/fuzz/replay.o

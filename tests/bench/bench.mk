# make bench: abri's performance, side by side with the machine's own
# limits measured in the same run (docs/performance.md). Not part of
# `make test`. Builds the programs, the load client and the minimal
# libfcgi "ceiling" program, then tests/bench/bench.py starts the real
# stack, prints a table and writes var/bench/results.json.
#   BENCH_QUICK=1 make bench     shorter and smaller, to try the bench itself

BENCH_TOOLS := build/bench
BENCH_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wshadow -Wconversion -Werror
# The -cgi variants of the nginx files, made as `make install` makes them
# (abri_cgi_sed in deploy/install.mk), the programs taken from $(BIN).
BENCH_CGI := var/bench/cgi-templates

$(BENCH_TOOLS)/load: tests/bench/load.c
	@mkdir -p $(@D)
	@echo '  CC  $<'
	@gcc $(BENCH_CFLAGS) $< -o $@

$(BENCH_TOOLS)/ceiling: tests/bench/ceiling.c
	@mkdir -p $(@D)
	@echo '  CC  $<'
	@gcc $(BENCH_CFLAGS) $< -lfcgi -pthread -o $@

$(BENCH_CGI)/%-cgi.conf.in: deploy/nginx/%.conf.in deploy/install.mk
	@mkdir -p $(@D)
	@$(abri_cgi_sed) $< | sed -e 's|@LIBEXECDIR@|$(CURDIR)/$(BIN)|g' >$@

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_TOOLS)/load $(BENCH_TOOLS)/ceiling \
		$(BENCH_CGI)/abri-http-cgi.conf.in $(BENCH_CGI)/abri-locations-cgi.conf.in
	@ABRI_BIN=$(CURDIR)/$(BIN) BENCH_TOOLS=$(CURDIR)/$(BENCH_TOOLS) python3 tests/bench/bench.py

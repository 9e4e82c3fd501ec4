# SPDX-License-Identifier: Apache-2.0
# activity-tracker. `make` builds every program into build/; `make test` runs
# a short smoke of every fuzz target, then the whole suite twice: a normal
# build, then AddressSanitizer + UBSan. `make fuzz` fuzzes for longer.

BUILD ?= build
SAN   ?=
PKGS  := rdkafka libmicrohttpd jansson sqlite3 zlib libdeflate libcrypto

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Werror -Wshadow \
               -Wstrict-prototypes -Wformat=2 -Icommon -Ischema -Iingest -Iaggregator -Iweb \
               -Iscripts
ifeq ($(SAN),1)
CFLAGS_OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
else ifeq ($(SAN),fuzz)
# libFuzzer (clang's), with ASan and UBSan: only the fuzz targets link with it
CFLAGS_OPT := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=fuzzer,address,undefined
else
CFLAGS_OPT := -O2
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(CFLAGS_BASE) $(CFLAGS_OPT) $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lpthread -lm
LDFLAGS += $(LDFLAGS_SAN)

COMMON_SRC := common/log.c common/config.c common/kafka.c common/timefmt.c common/fsutil.c \
              common/utf8.c common/siphash.c common/csv.c
SCHEMA_SRC := schema/event.c
INGEST_SRC := ingest/main.c ingest/collector.c ingest/producer.c \
              ingest/enrich.c ingest/useragent.c ingest/metrics.c ingest/pixel.c ingest/visitor.c common/http.c \
              common/http_server.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJ := $(call obj,$(COMMON_SRC) $(SCHEMA_SRC)) $(BUILD)/obj/gen/version.o

WORKER_SRC := aggregator/consumer.c aggregator/worker_metrics.c aggregator/canonical.c \
              aggregator/rollup.c aggregator/urlparts.c aggregator/arena.c aggregator/hll.c common/http.c \
              common/http_server.c
STORE_SRC := aggregator/store.c aggregator/seen.c aggregator/retention.c aggregator/visits.c
AGGREGATOR_SRC := aggregator/main.c aggregator/counter_sink.c $(STORE_SRC) $(WORKER_SRC)
EXPORT_SRC := aggregator/export_main.c aggregator/export_sink.c aggregator/export_ledger.c \
              aggregator/export_day.c aggregator/export_csv.c $(WORKER_SRC)

PROGRAMS := $(BUILD)/activity-devbroker $(BUILD)/activity-topics $(BUILD)/activity-ingest \
            $(BUILD)/activity-aggregator $(BUILD)/activity-export $(BUILD)/activity-web
UNIT_TESTS := $(BUILD)/tests/test_schema $(BUILD)/tests/test_timefmt \
              $(BUILD)/tests/test_enrich $(BUILD)/tests/test_config \
              $(BUILD)/tests/test_hll $(BUILD)/tests/test_seen $(BUILD)/tests/test_store \
              $(BUILD)/tests/test_arena $(BUILD)/tests/test_utf8 $(BUILD)/tests/test_topic_rules \
              $(BUILD)/tests/test_canonical $(BUILD)/tests/test_counter_sink \
              $(BUILD)/tests/test_retention $(BUILD)/tests/test_visitor $(BUILD)/tests/test_visits \
              $(BUILD)/tests/test_timezone
TEST_TOOLS := $(BUILD)/tests/topic-dump $(BUILD)/tests/topic-produce
BENCH_TOOLS := $(BUILD)/bench/producer-baseline $(BUILD)/bench/consumer-baseline

.PHONY: all tests run test bench clean deps format lint fuzz fuzzers install uninstall FORCE
all: $(PROGRAMS)
tests: $(UNIT_TESTS) $(TEST_TOOLS)

# schema/counters.sql is compiled in as a string, so the binary migrates a
# database with exactly the DDL the repository documents.
# web/tracker.js likewise goes into ingest, which serves it.
text_to_c = { echo 'const char $(1)[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $(2); echo ';'; } > $@
# The version (common/version.h): rewritten only when it changes, so an
# unchanged checkout rebuilds nothing.
VERSION_TEXT = $(shell v=$$(cat VERSION); g=$$(git describe --always --dirty --abbrev=10 \
                 2>/dev/null) && v="$$v+g$$g"; echo "$$v")
$(BUILD)/gen/version.c: FORCE
	@mkdir -p $(dir $@)
	@echo 'const char activity_version[] = "$(VERSION_TEXT)";' > $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
FORCE:

$(BUILD)/gen/counters_sql.c: schema/counters.sql
	@mkdir -p $(dir $@)
	$(call text_to_c,store_counters_sql,$<)
$(BUILD)/gen/tracker_js.c: web/tracker.js
	@mkdir -p $(dir $@)
	$(call text_to_c,ingest_tracker_js,$<)
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/activity-devbroker: $(call obj,scripts/devbroker.c) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/activity-topics: $(call obj,scripts/topics.c scripts/topic_rules.c) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/activity-ingest: $(call obj,$(INGEST_SRC)) $(BUILD)/obj/gen/tracker_js.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/activity-aggregator: $(call obj,$(AGGREGATOR_SRC)) $(BUILD)/obj/gen/counters_sql.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/activity-export: $(call obj,$(EXPORT_SRC)) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

WEB_SRC := web/main.c web/api.c web/live.c web/static_files.c web/timezone.c web/shares.c aggregator/hll.c common/http.c \
           common/http_server.c
$(BUILD)/activity-web: $(call obj,$(WEB_SRC)) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_schema: $(call obj,tests/unit/test_schema.c) $(LIB_OBJ)
$(BUILD)/tests/test_timefmt: $(call obj,tests/unit/test_timefmt.c) $(LIB_OBJ)
$(BUILD)/tests/test_config: $(call obj,tests/unit/test_config.c) $(LIB_OBJ)
$(BUILD)/tests/test_utf8: $(call obj,tests/unit/test_utf8.c) $(LIB_OBJ)
$(BUILD)/tests/test_topic_rules: $(call obj,tests/unit/test_topic_rules.c scripts/topic_rules.c) \
                                 $(LIB_OBJ)
$(BUILD)/tests/test_enrich: $(call obj,tests/unit/test_enrich.c ingest/enrich.c ingest/useragent.c) $(LIB_OBJ)
$(BUILD)/tests/test_hll: $(call obj,tests/unit/test_hll.c aggregator/hll.c) $(LIB_OBJ)
$(BUILD)/tests/test_seen: $(call obj,tests/unit/test_seen.c aggregator/seen.c) $(LIB_OBJ)
$(BUILD)/tests/test_arena: $(call obj,tests/unit/test_arena.c aggregator/arena.c) $(LIB_OBJ)
$(BUILD)/tests/test_store: $(call obj,tests/unit/test_store.c $(STORE_SRC) aggregator/rollup.c \
                             aggregator/canonical.c aggregator/urlparts.c aggregator/arena.c aggregator/hll.c) $(BUILD)/obj/gen/counters_sql.o $(LIB_OBJ)
$(BUILD)/tests/test_visits: $(call obj,tests/unit/test_visits.c $(STORE_SRC) aggregator/rollup.c \
                              aggregator/canonical.c aggregator/urlparts.c aggregator/arena.c aggregator/hll.c) \
                            $(BUILD)/obj/gen/counters_sql.o $(LIB_OBJ)
$(BUILD)/tests/test_retention: $(call obj,tests/unit/test_retention.c $(STORE_SRC) aggregator/rollup.c \
                                 aggregator/canonical.c aggregator/urlparts.c aggregator/arena.c aggregator/hll.c) \
                               $(BUILD)/obj/gen/counters_sql.o $(LIB_OBJ)
$(BUILD)/tests/test_visitor: $(call obj,tests/unit/test_visitor.c ingest/visitor.c) $(LIB_OBJ)
$(BUILD)/tests/test_timezone: $(call obj,tests/unit/test_timezone.c web/timezone.c) $(LIB_OBJ)
$(BUILD)/tests/test_canonical: $(call obj,tests/unit/test_canonical.c aggregator/canonical.c aggregator/urlparts.c \
                                 aggregator/rollup.c aggregator/arena.c aggregator/hll.c) $(LIB_OBJ)
$(BUILD)/tests/test_counter_sink: $(call obj,tests/unit/test_counter_sink.c aggregator/counter_sink.c \
                                    $(STORE_SRC) aggregator/rollup.c aggregator/canonical.c aggregator/urlparts.c \
                                    aggregator/arena.c aggregator/hll.c) $(BUILD)/obj/gen/counters_sql.o $(LIB_OBJ)
$(UNIT_TESTS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/tests/topic-produce: $(call obj,tests/integration/topic_produce.c) $(LIB_OBJ)
$(BUILD)/tests/topic-dump: $(call obj,tests/integration/topic_dump.c) $(LIB_OBJ)
$(BUILD)/bench/consumer-baseline: $(call obj,scripts/bench/consumer_baseline.c) $(LIB_OBJ)
$(BUILD)/bench/producer-baseline: $(call obj,scripts/bench/producer_baseline.c) $(LIB_OBJ)
$(TEST_TOOLS) $(BENCH_TOOLS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets (tests/fuzz), each with a seed corpus in tests/fuzz/corpus/.
FUZZ_TARGETS := event pixel body canonical web
FUZZERS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
PARSER_OBJ = $(call obj,aggregator/canonical.c aggregator/urlparts.c aggregator/rollup.c aggregator/arena.c \
                        aggregator/hll.c)
$(BUILD)/fuzz/fuzz_event: $(call obj,tests/fuzz/fuzz_event.c ingest/useragent.c) $(PARSER_OBJ) \
                          $(LIB_OBJ)
$(BUILD)/fuzz/fuzz_pixel: $(call obj,tests/fuzz/fuzz_pixel.c ingest/pixel.c) $(LIB_OBJ)
$(BUILD)/fuzz/fuzz_body: $(call obj,tests/fuzz/fuzz_body.c common/http.c) $(LIB_OBJ)
$(BUILD)/fuzz/fuzz_canonical: $(call obj,tests/fuzz/fuzz_canonical.c) $(PARSER_OBJ) $(LIB_OBJ)
$(BUILD)/fuzz/fuzz_web: $(call obj,tests/fuzz/fuzz_web.c web/api.c web/timezone.c aggregator/hll.c) \
                        $(BUILD)/obj/gen/counters_sql.o $(LIB_OBJ)
$(FUZZERS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
fuzzers: $(FUZZERS)

FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/install-deps.sh --fuzz
	@$(MAKE) --no-print-directory fuzzers BUILD=build/fuzz SAN=fuzz CC=clang
	tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, the dashboard
# and demo (found by activity-web beside its binary), example configuration,
# man pages written by each program from its own option table, and systemd
# units (PREFIX/lib/systemd/system, which systemd reads for /usr/local too).
PREFIX ?= /usr/local
INSTALLED := activity-ingest activity-aggregator activity-export activity-web \
             activity-topics activity-devbroker
bindir = $(DESTDIR)$(PREFIX)/bin
sharedir = $(DESTDIR)$(PREFIX)/share/activity-tracker
mandir = $(DESTDIR)$(PREFIX)/share/man/man1
unitdir = $(DESTDIR)$(PREFIX)/lib/systemd/system
install: all
	install -d $(bindir) $(sharedir)/examples $(mandir) $(unitdir)
	install -m 755 $(addprefix $(BUILD)/,$(INSTALLED)) $(bindir)/
	rm -rf $(sharedir)/static && cp -R web/static $(sharedir)/static
	install -m 644 scripts/config/* $(sharedir)/examples/
	install -m 644 LICENSE NOTICE README.md $(sharedir)/
	for p in $(INSTALLED); do \
	  $(BUILD)/$$p $$([ $$p = activity-topics ] && echo check) --help-man > $(mandir)/$$p.1 || exit 1; \
	done
	for u in scripts/systemd/*.service; do \
	  sed 's|@BINDIR@|$(PREFIX)/bin|g' $$u > $(unitdir)/$${u##*/} || exit 1; \
	done
uninstall:
	rm -f $(addprefix $(bindir)/,$(INSTALLED)) $(patsubst %,$(mandir)/%.1,$(INSTALLED))
	rm -f $(addprefix $(unitdir)/,$(notdir $(wildcard scripts/systemd/*.service)))
	rm -rf $(sharedir)

# Installs missing Debian packages only when a library is not found.
deps:
	@pkg-config --exists $(PKGS) && [ -e /usr/include/cmocka.h ] && \
	  command -v python3 >/dev/null && command -v sqlite3 >/dev/null || scripts/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	scripts/run-local.sh

test: deps
	@scripts/install-deps.sh --test
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	@$(MAKE) --no-print-directory all tests
	@$(MAKE) --no-print-directory all tests BUILD=build/asan SAN=1
	@$(MAKE) --no-print-directory fuzzers BUILD=build/fuzz SAN=fuzz CC=clang
	tests/fuzz/run.sh build/fuzz 5
	tests/run.sh build
	tests/run.sh build/asan

bench: deps
	@scripts/install-deps.sh --bench
	@$(MAKE) --no-print-directory all $(BENCH_TOOLS)
	scripts/bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --include=/usr/include/jansson.h -Icommon -Ischema -Iingest -Iaggregator -Iweb \
	  --suppress=missingIncludeSystem common schema ingest aggregator web scripts

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

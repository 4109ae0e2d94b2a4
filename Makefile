# hearth build. `make` builds the binaries, `make images` the guest kernel and root filesystems
# (cached in $(CACHE_DIR) by recipe hash), `make test` everything plus the test suite, `make bench`
# the benchmarks, `make run` the whole main job. See README.md.

CC ?= cc
O := build
CACHE_DIR ?= /var/cache/hearth
IMAGES := $(O)/images

WARN := -Wall -Wextra -Werror -Wshadow -Wvla -Wno-unused-parameter
# -ffile-prefix-map: no checkout path in the binaries, so every clone of one commit builds the
# same agent and shares its cached images (images/build.sh keys them by the agent's bytes).
# libpq's header lives in /usr/include/postgresql on Debian
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
BASE_CFLAGS := -std=gnu17 -g -D_GNU_SOURCE -Isrc -Iinclude -I$(O)/gen $(PQ_CFLAGS) -fno-omit-frame-pointer \
	-ffile-prefix-map=$(CURDIR)=. $(WARN)
OPT_CFLAGS := $(BASE_CFLAGS) -O2
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
SAN_CFLAGS := $(BASE_CFLAGS) -O1 $(SAN_FLAGS)
DAEMON_LIBS := -ljansson -lcurl -lssl -lcrypto -levent_openssl -lssh -lwslay -lxxhash -lzstd -levent -lhttp_parser -lsqlite3 -lpq -lnftables -lmnl -lldns -lcap \
	$(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)

common_src := $(wildcard src/common/*.c)
host_src := $(wildcard src/daemon/host/*.c)
# the network data plane and DNS server of one host (docs/networking.md)
net_src := $(wildcard src/daemon/net/*.c)
# templates' host-side pieces (parsers, OCI import); in daemon_src too, and linked by the
# integration tests that drive them without hearthd (tests/integration/test_oci.c)
tpl_src := $(wildcard src/daemon/tpl/*.c)
daemon_src := $(filter-out src/daemon/cmd/main.c,$(wildcard src/daemon/*.c src/daemon/cmd/*.c src/daemon/http/*.c src/daemon/store/*.c src/daemon/api/*.c src/daemon/ctl/*.c \
	src/daemon/ingress/*.c src/daemon/hostchan/*.c src/daemon/sshgw/*.c src/daemon/disk/*.c \
	src/daemon/tpl/*.c src/daemon/snapstore/*.c))
store_src := $(wildcard src/daemon/store/*.c)
agent_src := $(wildcard src/agent/*.c)
agent_lib_src := $(filter-out src/agent/main.c,$(agent_src))
lib_src := $(wildcard src/lib/*.c) src/common/buf.c src/common/b64.c
cli_src := $(filter-out src/cli/main.c,$(wildcard src/cli/*.c)) src/common/timefmt.c src/common/roff.c \
	src/common/b64.c
CLIENT_LIBS := -lcurl -ljansson
unit_tests := $(patsubst tests/%.c,%,$(wildcard tests/unit/*/test_*.c))
integ_tests := $(patsubst tests/%.c,%,$(wildcard tests/integration/test_*.c))
api_tests := $(patsubst tests/%.c,%,$(wildcard tests/api/test_*.c))
# the PostgreSQL tier (tests/pg/run.sh): the store unit tests and the API tests again, with a
# throwaway PostgreSQL cluster as the store
store_unit_tests := $(filter unit/store/%,$(unit_tests))
pg_tests := $(addprefix $(abspath $(O))/tests/,$(store_unit_tests) $(api_tests))
benches := $(patsubst %.c,%,$(wildcard bench/bench_*.c))
bench_scripts := $(wildcard bench/bench_*.sh)
# end-to-end CLI tests: scripts that start `hearthd serve` and print the harness line
cli_tests := $(wildcard tests/cli/test_*.sh)
# the house rules a machine can check: include cycles, file sizes, basenames, doc references
lint_tests := $(wildcard tests/lint/test_*.sh)

obj = $(patsubst %.c,$(O)/$(1)/%.o,$(2))

.PHONY: all images test test-pg test-binaries unit api compat console-test bench run clean deps fuzz examples cli-test \
	man install install-images
.SECONDARY:
all: $(O)/bin/hearthd $(O)/bin/hearth-agent $(O)/bin/hearth-recipe-key $(O)/bin/hearth \
	$(O)/lib/libhearth.a $(O)/lib/libhearth.so man

deps:
	./scripts/install-deps.sh

# --- docs/openapi.json, served at GET /v1/openapi.json, compiled in as one string ---
$(O)/gen/openapi_json.inc: docs/openapi.json scripts/embed-text.sh
	@mkdir -p $(dir $@)
	./scripts/embed-text.sh docs/openapi.json >$@.tmp && mv $@.tmp $@
$(O)/opt/src/daemon/api/openapi.o $(O)/san/src/daemon/api/openapi.o: $(O)/gen/openapi_json.inc

# --- the web console (docs/console.md): console/ bundled with esbuild from the lock file's
# packages (scripts/build-console.sh), then compiled into hearthd as data ---
console_src := $(shell find console -type f -not -path '*/node_modules/*' 2>/dev/null)
$(O)/console/index.html: $(console_src) scripts/build-console.sh scripts/npm_cache.sh
	./scripts/build-console.sh $(O)/console
	@touch $@
$(O)/gen/console_assets.inc: $(O)/console/index.html scripts/embed-console.sh
	@mkdir -p $(dir $@)
	./scripts/embed-console.sh $(O)/console >$@.tmp && mv $@.tmp $@
$(O)/opt/src/daemon/api/console.o $(O)/san/src/daemon/api/console.o: $(O)/gen/console_assets.inc

# --- the build's revision (`hearthd --version`, `hearth version`): `git describe`, or "unknown"
# outside git. The header is rewritten only when the text changes, so a commit rebuilds two
# objects and nothing else. ---
$(O)/gen/build_rev.h: FORCE
	@mkdir -p $(dir $@)
	@rev=$$(git describe --always --dirty 2>/dev/null || echo unknown); \
	printf '#define HEARTH_BUILD_REV "%s"\n' "$$rev" >$@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
.PHONY: FORCE
FORCE:
rev_users := src/daemon/cmd/cmd_help.c src/cli/cmd_version.c
$(foreach v,opt san,$(call obj,$(v),$(rev_users))): $(O)/gen/build_rev.h

# --- store migrations: migrations/NNNN_name.sql embedded as C string literals (no xxd needed) ---
store_migrations := $(sort $(wildcard src/daemon/store/migrations/*.sql))
$(O)/gen/store_migrations.inc: $(store_migrations) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	./scripts/embed-sql.sh $(store_migrations) >$@.tmp && mv $@.tmp $@
# the PostgreSQL dialect of the same migrations (migrations_pg/, same numbers and names)
store_migrations_pg := $(sort $(wildcard src/daemon/store/migrations_pg/*.sql))
$(O)/gen/store_migrations_pg.inc: $(store_migrations_pg) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	./scripts/embed-sql.sh $(store_migrations_pg) >$@.tmp && mv $@.tmp $@
$(O)/opt/src/daemon/store/migrations.o $(O)/san/src/daemon/store/migrations.o: \
	$(O)/gen/store_migrations.inc $(O)/gen/store_migrations_pg.inc

# --- optimised objects (the binaries we ship and benchmark) ---
$(O)/opt/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -MMD -MP -c $< -o $@

# --- sanitizer objects (what the tests link) ---
$(O)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

# --- the agent: static, no sanitizers (it is PID 1 in the guest) ---
$(O)/agent/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -MMD -MP -c $< -o $@

# --- libhearth: position-independent, only HEARTH_EXPORT symbols visible in the .so ---
$(O)/lib/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(O)/lib/libhearth.a: $(call obj,lib,$(lib_src))
	rm -f $@
	ar rcs $@ $^

$(O)/lib/libhearth.so: $(call obj,lib,$(lib_src))
	$(CC) -shared -Wl,-soname,libhearth.so.0 -o $@ $^ $(CLIENT_LIBS)

# --- the CLI: a client of libhearth like any other ---
$(O)/bin/hearth: $(call obj,opt,src/cli/main.c $(cli_src)) $(O)/lib/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(CLIENT_LIBS)

examples: $(O)/examples/hello

$(O)/examples/%: examples/%.c $(O)/lib/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -o $@ $^ $(CLIENT_LIBS)

# The agent links src/common as an archive so only the modules it uses come in (recipe.c, say,
# would drag OpenSSL into a static PID 1).
$(O)/agent/libcommon.a: $(call obj,agent,$(common_src))
	rm -f $@
	ar rcs $@ $^

$(O)/san/libcommon.a: $(call obj,san,$(common_src))
	rm -f $@
	ar rcs $@ $^

$(O)/bin/hearth-agent: $(call obj,agent,$(agent_src)) $(O)/agent/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) -static -o $@ $^ -ljansson

$(O)/bin/hearthd: $(call obj,opt,src/daemon/cmd/main.c $(daemon_src) $(host_src) $(net_src) $(common_src))
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(DAEMON_LIBS)

$(O)/bin/hearth-recipe-key: $(call obj,opt,src/tools/recipe_key.c $(common_src))
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(DAEMON_LIBS)

# Objects are named as targets so pattern rules that list not-yet-built objects still match
# on make's first pass (otherwise a more general test rule wins).
all_src := $(common_src) $(host_src) $(net_src) $(daemon_src) $(agent_src) src/daemon/cmd/main.c \
	tests/harness.c tests/fakehttp.c \
	$(lib_src) $(cli_src) src/cli/main.c
$(call obj,san,$(all_src)) $(call obj,opt,$(all_src)) $(call obj,lib,$(lib_src)):

# --- tests ---
# Agent tests run the agent's loop in-process (forked), so they link its objects but not main.c.
$(O)/tests/unit/agent/%: tests/unit/agent/%.c tests/unit/agent/client.c \
		$(call obj,san,tests/harness.c $(agent_lib_src)) $(O)/san/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Itests -Itests/unit/agent -o $@ $^ -ljansson

# libhearth and CLI tests link the library and CLI objects (not hearthd), and the scripted HTTP
# server they talk to (tests/fakehttp.c).
$(O)/tests/unit/lib/%: tests/unit/lib/%.c $(call obj,san,tests/harness.c tests/fakehttp.c $(lib_src))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Itests -o $@ $^ $(CLIENT_LIBS)

$(O)/tests/unit/cli/%: tests/unit/cli/%.c \
		$(call obj,san,tests/harness.c tests/fakehttp.c $(cli_src) $(lib_src))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Itests -o $@ $^ $(CLIENT_LIBS)

$(O)/tests/unit/%: tests/unit/%.c $(call obj,san,tests/harness.c $(common_src) $(host_src) $(net_src) $(daemon_src))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Itests -o $@ $^ $(DAEMON_LIBS)

$(O)/tests/integration/%: tests/integration/%.c tests/integration/vmtest.c tests/integration/hostfx.c \
		$(call obj,san,tests/harness.c $(common_src) $(host_src) $(net_src) $(tpl_src))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Itests -o $@ $^ $(DAEMON_LIBS)

# hearthd with ASan/UBSan, for the API tests (`make api`).
$(O)/san-bin/hearthd: $(call obj,san,src/daemon/cmd/main.c $(daemon_src) $(host_src) $(net_src) $(common_src))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(DAEMON_LIBS)

# API tests start the real hearthd (HEARTH_BIN) on 127.0.0.1 and use the store API for fixtures.
$(O)/tests/api/%: tests/api/%.c tests/api/apitest.c tests/api/vmfx.c tests/inetns.c \
		$(call obj,san,tests/harness.c $(common_src) $(host_src) $(net_src) $(daemon_src))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Itests -o $@ $^ $(DAEMON_LIBS)

# The SDK compatibility suite (tests/compat/run.sh, docs/compat.md) seeds rows with this tool.
$(O)/tests/compat/seed: tests/compat/seed.c $(call obj,opt,$(common_src) $(store_src))
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -o $@ $^ $(DAEMON_LIBS)

# tests/compat/run.sh (the official TypeScript SDK against hearthd) runs after the API tests, and
# tests/fuzz/run.sh (every fuzz target for FUZZ_SECONDS) after the unit tests; tests/run.sh reads
# their final `harness:` lines like any test binary's.
test:
	./scripts/install-deps.sh
	$(MAKE) all images test-binaries
	HEARTH_IMAGES=$(abspath $(IMAGES)) HEARTH_BIN=$(abspath $(O)/bin) \
		HEARTH_COMPAT_SEED=$(abspath $(O)/tests/compat/seed) HEARTH_PG_TESTS="$(pg_tests)" \
		FUZZ_BIN=$(abspath $(O)/fuzz) FUZZ_SECONDS=$(FUZZ_SECONDS) \
		./tests/run.sh $(lint_tests) $(addprefix $(O)/tests/,$(unit_tests)) tests/fuzz/run.sh \
		$(addprefix $(O)/tests/,$(integ_tests) $(api_tests)) tests/pg/run.sh $(cli_tests) \
		tests/compat/run.sh tests/console/run.sh

test-binaries: $(addprefix $(O)/tests/,$(unit_tests) $(integ_tests) $(api_tests)) \
	$(O)/tests/compat/seed

# The PostgreSQL tier alone: the store unit tests and every API test with a throwaway PostgreSQL
# cluster as the store (tests/pg/run.sh; needs `make images` for the VM tests among them).
test-pg: all $(O)/san-bin/hearthd $(addprefix $(O)/tests/,$(store_unit_tests) $(api_tests))
	HEARTH_IMAGES=$(abspath $(IMAGES)) HEARTH_BIN=$(abspath $(O)/san-bin) \
		HEARTH_PG_TESTS="$(pg_tests)" ./tests/run.sh tests/pg/run.sh

# The SDK compatibility suite alone (needs `make all images` and Node >= 20).
compat: all images $(O)/tests/compat/seed
	HEARTH_IMAGES=$(abspath $(IMAGES)) HEARTH_BIN=$(abspath $(O)/bin) \
		HEARTH_COMPAT_SEED=$(abspath $(O)/tests/compat/seed) ./tests/run.sh tests/compat/run.sh

# The web console's browser tests alone (docs/console.md; needs `make all images` and chromium).
console-test: all images $(O)/tests/compat/seed
	HEARTH_IMAGES=$(abspath $(IMAGES)) HEARTH_BIN=$(abspath $(O)/bin) \
		HEARTH_COMPAT_SEED=$(abspath $(O)/tests/compat/seed) ./tests/run.sh tests/console/run.sh

# API tests alone against the sanitizer build of hearthd (no images needed: they fake the
# catalog files).
api: $(O)/san-bin/hearthd $(addprefix $(O)/tests/,$(api_tests))
	HEARTH_BIN=$(abspath $(O)/san-bin) ./tests/run.sh $(addprefix $(O)/tests/,$(api_tests))

unit: $(addprefix $(O)/tests/,$(unit_tests))
	./tests/run.sh $^

cli-test: $(O)/bin/hearth $(O)/bin/hearthd
	HEARTH_BIN=$(abspath $(O)/bin) ./tests/run.sh $(cli_tests)

# --- fuzzers (clang + libFuzzer, ASan, UBSan; docs/testing.md "Fuzzing") ---
# Every tests/fuzz/fuzz_<name>.c is a target: it links fuzz_<name>_src (the product sources it
# drives) and fuzz_<name>_libs, plus src/common as an archive, and starts from the committed
# corpus tests/fuzz/corpus/<name>/. `make test` runs each for FUZZ_SECONDS (tests/fuzz/run.sh);
# `make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS="dns config"` runs them longer, alone.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=gnu17 -g -O1 -D_GNU_SOURCE -Isrc -Iinclude -fno-omit-frame-pointer $(WARN) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 10
FUZZ_TARGETS ?=
fuzz_targets := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz_bins := $(addprefix $(O)/fuzz/,$(fuzz_targets))

fuzz_cli_argv_src := src/cli/args.c src/cli/cli_config.c
fuzz_wire_src :=
fuzz_qmp_src := src/daemon/host/qmp.c src/daemon/host/usock.c
fuzz_qmp_libs := -ljansson
fuzz_migsplit_src := src/daemon/host/migsplit.c
fuzz_netcfg_src := src/agent/netcfg.c src/agent/agent_rtnl.c
fuzz_netcfg_libs := -ljansson
fuzz_self_req_src := src/agent/self_req.c
fuzz_dns_src := src/daemon/net/dns_msg.c
fuzz_dns_libs := -lldns
fuzz_http_request_src := src/daemon/http/parser.c src/daemon/http/route.c
fuzz_http_request_libs := -lhttp_parser
fuzz_egress_src := src/daemon/net/egress_rules.c src/daemon/ctl/sandbox_check.c
# what parsing hearthd.conf takes (the config, its warm_pool syntax, log, OCI references)
config_parse_src := src/daemon/config.c src/daemon/config_derive.c src/daemon/pool_spec.c src/daemon/log.c src/daemon/disk/endpoint.c \
	src/daemon/tpl/oci_ref.c
fuzz_config_src := $(config_parse_src)
fuzz_config_libs := -ljansson
fuzz_validate_src := src/daemon/api/validate.c src/daemon/ctl/sandbox_check.c src/daemon/ctl/catalog.c
fuzz_validate_libs := -ljansson
fuzz_proc_record_src := src/daemon/ctl/proc_record.c
fuzz_proc_record_libs := -ljansson
fuzz_agent_client_src := src/daemon/host/agent_client.c src/daemon/host/usock.c
fuzz_agent_client_libs := -ljansson
fuzz_dns_tcp_src := src/daemon/net/dns_server.c src/daemon/net/dns_meter.c src/daemon/net/dns_forward.c \
	src/daemon/net/dns_tcp.c src/daemon/net/dns_msg.c
fuzz_dns_tcp_libs := -levent -lldns
fuzz_snapshot_meta_src := src/daemon/host/snapshot.c src/daemon/host/ramsum.c
fuzz_snapshot_meta_libs := -ljansson -lcrypto -lxxhash
fuzz_shell_frames_src := src/daemon/api/shell_frames.c
fuzz_ingress_host_src := src/daemon/ingress/host_route.c
fuzz_upstream_resp_src := src/daemon/ingress/upstream_resp.c
fuzz_upstream_resp_libs := -lhttp_parser
fuzz_sshgw_policy_src := src/daemon/sshgw/sshgw_policy.c src/daemon/store/ids.c
fuzz_disk_endpoint_src := src/daemon/disk/endpoint.c
fuzz_oci_ref_src := src/daemon/tpl/oci_ref.c
fuzz_template_image_src := src/daemon/ctl/template_image.c
fuzz_template_image_libs := -ljansson -lcrypto
fuzz_template_logbuf_src := src/daemon/ctl/template_logbuf.c
fuzz_dockerfile_src := src/daemon/tpl/dockerfile.c src/daemon/tpl/dockerfile_lex.c src/daemon/tpl/tpl_vars.c \
	src/daemon/tpl/context_tar.c
fuzz_dockerfile_libs := -ljansson
fuzz_context_tar_src := src/daemon/tpl/context_tar.c
fuzz_snap_manifest_src := src/daemon/snapstore/manifest.c src/daemon/snapstore/chunk.c
fuzz_snap_manifest_libs := -ljansson -lcrypto -lzstd

# src/common instrumented once, as an archive: a target takes only the modules it uses
$(O)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(O)/fuzz/libcommon.a: $(patsubst %.c,$(O)/fuzz/obj/%.o,$(common_src))
	rm -f $@
	ar rcs $@ $^

define fuzz_rule
$(O)/fuzz/$(1): $(patsubst %.c,$(O)/fuzz/obj/%.o,tests/fuzz/$(1).c $($(1)_src)) \
		$(O)/fuzz/libcommon.a
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ $$^ $($(1)_libs)
endef
$(foreach t,$(fuzz_targets),$(eval $(call fuzz_rule,$(t))))
test-binaries: $(fuzz_bins)

fuzz: $(fuzz_bins)
	FUZZ_BIN=$(abspath $(O)/fuzz) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
		./tests/run.sh tests/fuzz/run.sh

# --- benchmarks (bench/benchvm.c: a VM on hearthd's engine through host_sync.h) ---
$(O)/bench/%: bench/%.c bench/stats.c bench/benchvm.c $(call obj,opt,$(common_src) $(host_src) $(net_src))
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -o $@ $^ $(DAEMON_LIBS)

# bench_api starts the real hearthd ($(O)/bin, built by `make bench`'s `all`) and seeds its store
# through the store API, so it links the store objects too.
$(O)/bench/bench_net: bench/bench_net.c bench/apiclient.c bench/stats.c tests/inetns.c \
		$(config_parse_src) \
		$(call obj,opt,$(common_src) $(host_src) $(net_src) $(store_src))
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -Itests -o $@ $^ $(DAEMON_LIBS) -lpthread

$(O)/bench/bench_api $(O)/bench/bench_confine $(O)/bench/bench_processes \
		$(O)/bench/bench_interactive $(O)/bench/bench_ingress $(O)/bench/bench_ssh \
		$(O)/bench/bench_timeline $(O)/bench/bench_livefork: $(O)/bench/%: \
		bench/%.c bench/apiclient.c bench/benchio.c \
		bench/stats.c bench/benchvm.c $(call obj,opt,$(common_src) $(host_src) $(net_src) $(store_src))
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -o $@ $^ $(DAEMON_LIBS) -lpthread

# bench_snapshots also restores a plain migration stream straight through QEMU (plainmig.c)
$(O)/bench/bench_snapshots: bench/bench_snapshots.c bench/plainmig.c bench/apiclient.c \
		bench/benchio.c bench/stats.c bench/benchvm.c \
		$(call obj,opt,$(common_src) $(host_src) $(net_src) $(store_src))
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -o $@ $^ $(DAEMON_LIBS) -lpthread

bench:
	./scripts/install-deps.sh
	$(MAKE) all images $(addprefix $(O)/,$(benches))
	HEARTH_IMAGES=$(abspath $(IMAGES)) HEARTH_BIN=$(abspath $(O)/bin) \
		./bench/run.sh $(addprefix $(O)/,$(benches)) $(bench_scripts)

# --- guest images: kernel and root filesystems, cached by recipe hash ---
images: $(O)/bin/hearth-agent $(O)/bin/hearth-recipe-key
	CACHE_DIR=$(CACHE_DIR) KEYTOOL=$(abspath $(O)/bin/hearth-recipe-key) \
		./images/build.sh $(abspath $(IMAGES)) $(abspath $(O)/bin/hearth-agent)

# --- man pages: printed by the binaries from the tables that print their --help ---
man: $(O)/man/hearthd.8 $(O)/man/hearth.1
$(O)/man/hearthd.8: $(O)/bin/hearthd
	@mkdir -p $(dir $@)
	$< --help-man >$@.tmp && mv $@.tmp $@
$(O)/man/hearth.1: $(O)/bin/hearth
	@mkdir -p $(dir $@)
	$< --help-man >$@.tmp && mv $@.tmp $@

# --- install (docs/operations.md "Installing"): PREFIX and DESTDIR as usual. The config lives
# in /etc/hearth whatever the prefix (hearthd reads /etc/hearth/hearthd.conf by default); the
# sample is always refreshed, hearthd.conf only created when absent, never overwritten. The
# guest agent and the recipe tool stay in the build: they go into images, not onto the host. ---
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/hearth
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
INSTALL ?= install
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)/hearth $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/hearth \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	$(INSTALL) -m 0755 $(O)/bin/hearthd $(DESTDIR)$(SBINDIR)/hearthd
	$(INSTALL) -m 0755 $(O)/bin/hearth $(DESTDIR)$(BINDIR)/hearth
	$(INSTALL) -m 0644 $(O)/lib/libhearth.a $(DESTDIR)$(LIBDIR)/libhearth.a
	$(INSTALL) -m 0755 $(O)/lib/libhearth.so $(DESTDIR)$(LIBDIR)/libhearth.so.0
	ln -sfn libhearth.so.0 $(DESTDIR)$(LIBDIR)/libhearth.so
	$(INSTALL) -m 0644 include/hearth/*.h $(DESTDIR)$(INCLUDEDIR)/hearth/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e "s|@VERSION@|$$(sed -n 's/^#define HEARTH_VERSION \"\(.*\)\"/\1/p' include/hearth/hearth.h)|g" \
		dist/hearth.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/hearth.pc
	$(INSTALL) -m 0644 $(O)/man/hearth.1 $(DESTDIR)$(MANDIR)/man1/hearth.1
	$(INSTALL) -m 0644 $(O)/man/hearthd.8 $(DESTDIR)$(MANDIR)/man8/hearthd.8
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' dist/systemd/hearthd.service.in \
		>$(DESTDIR)$(UNITDIR)/hearthd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/hearthd.service
	$(INSTALL) -m 0644 etc/hearthd.conf.sample $(DESTDIR)$(SYSCONFDIR)/hearth/hearthd.conf.sample
	[ -e $(DESTDIR)$(SYSCONFDIR)/hearth/hearthd.conf ] || \
		$(INSTALL) -m 0644 etc/hearthd.conf.sample $(DESTDIR)$(SYSCONFDIR)/hearth/hearthd.conf
	$(O)/bin/hearth completion bash \
		>$(DESTDIR)$(PREFIX)/share/bash-completion/completions/hearth
	$(INSTALL) -m 0644 docs/openapi.json docs/grafana-dashboard.json $(DESTDIR)$(DOCDIR)/

# Guest images for the installed hearthd (several GiB: not part of `install`): the files
# `make images` linked, copied sparse into IMAGES_DIR (hearthd's default <data_dir>/images).
IMAGES_DIR ?= /var/lib/hearth/images
install-images: images
	$(INSTALL) -d -m 0700 $(DESTDIR)$(dir $(IMAGES_DIR))
	$(INSTALL) -d $(DESTDIR)$(IMAGES_DIR)
	for f in $(IMAGES)/*; do cp -L --sparse=always "$$f" $(DESTDIR)$(IMAGES_DIR)/; done

run:
	./scripts/install-deps.sh
	$(MAKE) all images
	./scripts/demo.sh

clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)

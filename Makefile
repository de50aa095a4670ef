# SPDX-License-Identifier: GPL-2.0-only
#
# icepath: one non-recursive Makefile (see shared/STYLE.md).
#
#   make            build everything into build/
#   make check      install missing packages, build, run every test
#   make demo       install missing packages, build, run the netns demo
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS (default 60)
#   make mutants    build and test every mutant of tests/mutants/mutants.tsv
#   make bench      side-by-side throughput: XDP vs userspace vs rtpengine
#   make deb        build/icepath_VERSION_ARCH.deb (debhelper, tools/debian/)
#   make man        build/man/*.8 from each program's --help
#   make deps       install missing Debian packages (apt), nothing else
#   V=1             show full commands
#
# Layout conventions (new files need no Makefile edit):
#   userspace/LAYER/*.c, kernel/*.c -> build/lib/libicepath-LAYER.a, one archive per
#                                    layer (codec crypto ice ng kernel daemon), see LAYERS
#   bpf/NAME.bpf.c                -> build/bpf/NAME.bpf.o -> build/include/NAME.skel.h
#   tools/NAME/*.c                -> build/bin/NAME
#   userspace/daemon/main.c       -> build/bin/icepathd, and build/asan/bin/icepathd
#                                    (ASan+UBSan, for the netns fuzz tests)
#   tests/unit/test_NAME.c        -> build/tests/test_NAME and build/asan/tests/test_NAME,
#                                    linked with its layer's archives only (TEST_LAYER_)
#   tests/lint/test_NAME.sh       -> run by check (source rules: layering)
#   tests/bpf/test_NAME.c         -> build/tests/test_NAME (needs root, run by check-bpf)
#   tests/net/test_NAME.sh        -> run by check-net (needs root)
#   tests/fuzz/fuzz_NAME.c        -> build/fuzz/fuzz_NAME (clang libFuzzer)
#   tests/pkg/test_NAME.sh        -> run by check-pkg (the .deb, the unit)

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BUILD    := build
CC       := gcc
CLANG    := clang
BPFTOOL  := bpftool
AR       := ar


# The version, in one place: the first line of the Debian changelog.
VERSION  := $(shell dpkg-parsechangelog -l tools/debian/changelog -S Version)
# libnl-route-3: the fast path's next hop caches (kernel/fastpath_nh.c).
NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS   := $(shell pkg-config --libs libnl-route-3.0 2>/dev/null || echo -lnl-route-3 -lnl-3)
CPPFLAGS := -Iinclude -I$(BUILD)/include -D_GNU_SOURCE -DICEPATH_VERSION='"$(VERSION)"' $(NL_CFLAGS)
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS   := -std=c11 -O2 -g $(WARN) -MMD -MP
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZFLAGS := -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	-Wno-unused-parameter -Iinclude -I/usr/include/$(shell uname -m)-linux-gnu -MMD -MP

# ---- layers -----------------------------------------------------------------
# One static archive per folder. LINK_x lists what a program of layer x links,
# highest first: an archive can only use the ones after it, so a call that
# runs up a layer (the agent into the daemon, a codec into the agent) is an
# undefined symbol at link time. Only the kernel layer brings libbpf, libelf
# and libmnl, only the crypto layer libssl and libsrtp2: codec, ICE and NG
# tests link without them (tests/lint checks).
LAYERS        := codec crypto ice ng kernel daemon
SRCS_codec    := $(wildcard userspace/codec/*.c)
SRCS_crypto   := $(wildcard userspace/crypto/*.c)
SRCS_ice      := $(wildcard userspace/ice/*.c)
SRCS_ng       := $(wildcard userspace/ng/*.c)
SRCS_kernel   := $(wildcard kernel/*.c)
SRCS_daemon   := $(filter-out userspace/daemon/main.c,$(wildcard userspace/daemon/*.c))
LINK_codec    := codec
LINK_crypto   := crypto codec
LINK_ice      := ice codec
LINK_ng       := ng codec
LINK_kernel   := kernel codec
LINK_daemon   := daemon ng ice kernel crypto codec
LDLIBS_BASE   := -lcrypto -lz -lm
LDLIBS_KERNEL := -lbpf -lelf -lmnl $(NL_LIBS)
LDLIBS_CRYPTO := -lssl -lsrtp2
LDLIBS_DAEMON := -lsystemd -lhiredis
LDLIBS        := $(LDLIBS_DAEMON) $(LDLIBS_KERNEL) $(LDLIBS_CRYPTO) $(LDLIBS_BASE)

# $(call archives,BUILD_DIR,LAYER) and $(call layer_libs,LAYER)
archives   = $(foreach l,$(LINK_$(2)),$(1)/lib/libicepath-$(l).a)
layer_libs = $(if $(filter daemon,$(LINK_$(1))),$(LDLIBS_DAEMON)) \
	$(if $(filter kernel,$(LINK_$(1))),$(LDLIBS_KERNEL)) \
	$(if $(filter crypto,$(LINK_$(1))),$(LDLIBS_CRYPTO)) $(LDLIBS_BASE)

# The layer of each unit test: what it may link. Not listed: daemon.
$(foreach t,bencode channel_data demux netaddr rtpstat sdp stun,$(eval TEST_LAYER_test_$(t) := codec))
$(foreach t,dtls srtp sdes,$(eval TEST_LAYER_test_$(t) := crypto))
$(foreach t,ice_agent turn_client,$(eval TEST_LAYER_test_$(t) := ice))
$(foreach t,ng icepathctl,$(eval TEST_LAYER_test_$(t) := ng))
test_layer = $(or $(TEST_LAYER_$(1)),daemon)

# ---- sources ---------------------------------------------------------------
LIB_SRCS   := $(foreach l,$(LAYERS),$(SRCS_$(l)))
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
TOOL_DIRS  := $(patsubst %/,%,$(dir $(wildcard tools/*/*.c)))
TOOLS      := $(sort $(notdir $(TOOL_DIRS)))
DAEMON_MAIN := userspace/daemon/main.c
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
NET_TESTS  := $(sort $(wildcard tests/net/test_*.sh))

BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS      := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/include/%.skel.h)
LIBS       := $(LAYERS:%=$(BUILD)/lib/libicepath-%.a)
ASAN_LIBS  := $(LAYERS:%=$(BUILD)/asan/lib/libicepath-%.a)
# Fuzz targets link the userspace layers, instrumented; never kernel/.
FUZZ_LAYERS := daemon ng ice crypto codec
FUZZ_LIBS  := $(FUZZ_LAYERS:%=$(BUILD)/fuzz/lib/libicepath-%.a)
BINS       := $(TOOLS:%=$(BUILD)/bin/%) $(BUILD)/bin/icepathd
ASAN_DAEMON := $(BUILD)/asan/bin/icepathd
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
ASAN_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/asan/tests/%)
BPFT_BINS  := $(BPFT_SRCS:tests/bpf/%.c=$(BUILD)/tests/%)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

# Every object waits for the generated skeletons (order-only), so a kernel/
# file can include NAME.skel.h; -MMD then records the real dependency.
GEN := $(SKELS)

.PHONY: all deps check check-unit check-asan check-bpf check-net check-lint check-pkg demo fuzz \
	mutants bench clean deb man
all: $(LIBS) $(BINS) $(ASAN_DAEMON) $(UNIT_BINS) $(BPFT_BINS)

# ---- objects and the per-layer archives ----------------------------------------
# Tests (and only tests) may reach a daemon-private header as "daemon/x.h".
$(BUILD)/obj/tests/% $(BUILD)/asan/obj/tests/% $(BUILD)/fuzz/obj/tests/%: CPPFLAGS += -Iuserspace

$(BUILD)/obj/%.o: %.c Makefile | $(GEN)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c Makefile | $(GEN)
	$(call msg,CC-ASAN,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/%.o: %.c Makefile | $(GEN)
	$(call msg,CC-FUZZ,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) $(filter-out -Wstrict-prototypes,$(CFLAGS)) \
		-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -c $< -o $@

define layer_archives
$(BUILD)/lib/libicepath-$(1).a: $(SRCS_$(1):%.c=$(BUILD)/obj/%.o)
$(BUILD)/asan/lib/libicepath-$(1).a: $(SRCS_$(1):%.c=$(BUILD)/asan/obj/%.o)
$(BUILD)/fuzz/lib/libicepath-$(1).a: $(SRCS_$(1):%.c=$(BUILD)/fuzz/obj/%.o)
endef
$(foreach l,$(LAYERS),$(eval $(call layer_archives,$(l))))

%.a:
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# ---- BPF --------------------------------------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c Makefile
	$(call msg,BPF,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(BUILD)/include/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# ---- programs ---------------------------------------------------------------
.SECONDEXPANSION:
$(BUILD)/bin/icepathd: $(BUILD)/obj/userspace/daemon/main.o $(call archives,$(BUILD),daemon)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN_DAEMON): $(BUILD)/asan/obj/userspace/daemon/main.o $(call archives,$(BUILD)/asan,daemon)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/%: $$(foreach f,$$(wildcard tools/%/*.c),$(BUILD)/obj/$$(basename $$(f)).o) \
		$(call archives,$(BUILD),daemon)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $$(call archives,$(BUILD),$$(call test_layer,$$*))
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(call layer_libs,$(call test_layer,$*))

$(BUILD)/asan/tests/%: $(BUILD)/asan/obj/tests/unit/%.o \
		$$(call archives,$(BUILD)/asan,$$(call test_layer,$$*))
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ -lcmocka $(call layer_libs,$(call test_layer,$*))

$(BPFT_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/bpf/%.o $(call archives,$(BUILD),kernel)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(call layer_libs,kernel)

$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIBS)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZFLAGS) -o $@ $^ $(LDLIBS)

# ---- man pages and the Debian package -----------------------------------------
# One source per page: the program's --help text (NAME, SYNOPSIS, ... at the
# left margin, bodies indented) turned into roff by tools/man/help2man.sh.
MAN_PROGS := icepathd icepathctl icepath-peer icepath-stun
MAN_PAGES := $(MAN_PROGS:%=$(BUILD)/man/%.8)
MAN_DATE  := $(shell date -u +%Y-%m-%d -d "$$(dpkg-parsechangelog -l tools/debian/changelog -S Date)")
MAN_SUMMARY_icepath-peer := an ICE agent (RFC 8445) on real UDP sockets, for tests and interop
MAN_SUMMARY_icepath-stun := send a STUN Binding request and print the mapped address
man: $(MAN_PAGES)

$(BUILD)/man/%.8: $(BUILD)/bin/% tools/man/help2man.sh tools/debian/changelog
	$(call msg,MAN,$@)
	@mkdir -p $(@D)
	$(Q)$< --help | tools/man/help2man.sh $* 8 "icepath $(VERSION)" "$(MAN_DATE)" \
		"$(MAN_SUMMARY_$*)" > $@

DEB_ARCH := $(shell dpkg --print-architecture)
DEB      := $(BUILD)/icepath_$(VERSION)_$(DEB_ARCH).deb
DEB_TREE := $(BUILD)/deb/icepath-$(VERSION)
deb: $(DEB)

# debhelper builds the package in a tree of its own under build/deb: the
# programs built here, the man pages, tools/debian/ as debian/, and the
# service files; dh_shlibdeps computes Depends from the programs' libraries.
$(DEB): $(BUILD)/bin/icepathd $(BUILD)/bin/icepathctl $(BUILD)/bin/icepath-peer \
		$(BUILD)/bin/icepath-stun $(MAN_PAGES) $(wildcard tools/debian/* tools/debian/*/*)
	$(call msg,DEB,$@)
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(DEB_TREE)/bin $(DEB_TREE)/man
	$(Q)cp $(filter $(BUILD)/bin/%,$^) $(DEB_TREE)/bin/
	$(Q)cp $(MAN_PAGES) $(DEB_TREE)/man/
	$(Q)cp -r tools/debian $(DEB_TREE)/debian
	$(Q)cd $(DEB_TREE) && dpkg-buildpackage -b -us -uc \
		> ../dpkg-buildpackage.log 2>&1 || { tail -30 ../dpkg-buildpackage.log; exit 1; }
	$(Q)cp $(BUILD)/deb/$(notdir $@) $@

# ---- extra programs with their own libraries ---------------------------------
-include tests/interop/interop.mk

# ---- top-level jobs -----------------------------------------------------------
deps:
	$(Q)tools/install-deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all $(ASAN_BINS) $(FUZZ_BINS) deb
	$(Q)tests/run-tests.sh $(BUILD)

check-unit: all
	$(Q)tests/run-tests.sh $(BUILD) unit

check-asan: $(ASAN_BINS)
	$(Q)tests/run-tests.sh $(BUILD) asan

check-bpf: all
	$(Q)tests/run-tests.sh $(BUILD) bpf

check-net: all
	$(Q)tests/run-tests.sh $(BUILD) net

check-lint: all
	$(Q)tests/run-tests.sh $(BUILD) lint

check-pkg: deb
	$(Q)tests/run-tests.sh $(BUILD) pkg

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo/demo.sh $(BUILD)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)
	$(Q)tests/fuzz/run-fuzz.sh $(BUILD) $(FUZZ_SECONDS)

# Mutation testing of the ICE agent, the TURN client and the STUN codec:
# every line of tests/mutants/mutants.tsv must be killed by the unit tests.
mutants:
	$(Q)tests/mutants/run.sh $(BUILD)

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/bench/bench.sh $(BUILD)

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
